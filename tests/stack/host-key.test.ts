// The VM's SSH host key: read from the guest attribute the guest agent publishes, pinned once per instance in
// the state (a pulumi.Stash replaced only with a new instance), and a changed key afterwards stops the deploy.
// A read that fails (no such instance, wrong project, no permission) is reported at once, never polled.
import { loadConfig } from "../../components/config";
import * as pulumi from "@pulumi/pulumi";
import { checkPinnedHostKey, MailHost, publishedHostKey } from "../../components/host";
import { byType, runProgram, TEST_HOST_KEY, TEST_INSTANCE_ID, unwrap } from "./harness";
import { stackConfig } from "./config";

/**
 * The host alone, its key the only output: a refused key then fails this output only, as `pulumi up` reports it,
 * and no resource of the full program is left to fail after the test (which jest would pin on the next one).
 */
const hostOnly = async () => ({ hostKey: new MailHost("mail", { config: loadConfig() }).hostKey });
const GUEST_ATTRIBUTES = "gcp:compute/getInstanceGuestAttributes:getInstanceGuestAttributes";
const connectionKeys = (r: Awaited<ReturnType<typeof runProgram>>) =>
  [...new Set(byType(r, "command:remote:Command").map((c) => (unwrap(c.inputs.connection) as { hostKey?: string }).hostKey))];

// The refused and failing reads reject outputs that the mock runtime still serializes after the run (the Stash's
// input, the commands' connections), and Node reports those rejections as unhandled. They are this file's own
// expected errors; anything else still fails.
const expected = (e: unknown) => /reading the guest attribute|now publishes the SSH host key/.test(e instanceof Error ? e.message : String(e));
const ignoreExpected = (e: unknown) => { if (!expected(e)) throw e; };
beforeAll(() => { process.on("unhandledRejection", ignoreExpected); });
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 3000));
  process.off("unhandledRejection", ignoreExpected);
});

test("the first key read for an instance is pinned in a Stash replaced only with a new instance; every command uses it", async () => {
  const r = await runProgram(stackConfig());
  expect(r.error).toBeUndefined();
  const [pin] = byType(r, "pulumi:index:Stash");
  expect(pin.name).toBe("mail-host-key");
  expect(pin.inputs.input).toBe(`ssh-ed25519 ${TEST_HOST_KEY}`);
  expect(pin.replacementTrigger).toBe(TEST_INSTANCE_ID);
  expect(connectionKeys(r)).toEqual([`ssh-ed25519 ${TEST_HOST_KEY}`]);
  expect(r.calls.filter((c) => c.token === GUEST_ATTRIBUTES).map((c) => c.inputs)).toEqual([
    expect.objectContaining({ name: "mail-vm", zone: "europe-west1-b", project: "proj", variableKey: "hostkeys/ssh-ed25519" })]);
});

test("an empty value (not published yet: the provider drops getGuestAttributes' 404) is polled until the key appears", async () => {
  let reads = 0;
  const r = await runProgram(stackConfig(), {
    guestAttributes: (inputs) => (++reads < 2 ? { ...inputs } : { ...inputs, variableValue: TEST_HOST_KEY }),
  });
  expect(r.error).toBeUndefined();
  expect(reads).toBe(2);
  expect(connectionKeys(r)).toEqual([`ssh-ed25519 ${TEST_HOST_KEY}`]);
}, 30_000);

// These two leave rejected outputs that settle after them (jest pins those on the next test): they run last.
test("a failing read (permission, wrong project) is reported as itself at once, without polling", async () => {
  const started = Date.now();
  let reads = 0;
  // The read alone: no resource takes its rejected value, so nothing is left to fail after the test.
  const r = await runProgram(stackConfig(), {
    program: async () => ({ key: pulumi.output(publishedHostKey("mail-vm", "europe-west1-b", "proj")) }),
    guestAttributes: () => {
      reads++;
      throw new Error("Error when reading or editing Instance mail-vm: googleapi: Error 403: Required 'compute.instances.get' permission");
    },
  });
  expect(r.error?.message).toContain("reading the guest attribute hostkeys/ssh-ed25519 of the VM mail-vm (project proj, zone europe-west1-b) failed");
  // The mock runtime drops an invoke's error text; the provider's (e.g. "Error 403: Required 'compute.instances.get'
  // permission") follows "failed:" in a real run.
  expect(r.error?.message).toContain("check gcp:project and gcp:zone, and that the deploying identity may read the instance");
  expect(r.error?.message).not.toContain("enable-guest-attributes");
  expect(reads).toBe(1);
  expect(Date.now() - started).toBeLessThan(4000);
});

test("a key that differs from the pinned one stops the deploy before any remote command, naming both keys", async () => {
  const pinned = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedAtFirstDeploy";
  const r = await runProgram(stackConfig(), { program: hostOnly, stashed: { "mail-host-key": pinned } });
  expect(r.error?.message).toContain(`now publishes the SSH host key ssh-ed25519 ${TEST_HOST_KEY}`);
  expect(r.error?.message).toContain(`not ${pinned}, the key pinned when this instance was first deployed`);
  expect(r.error?.message).toContain("pulumi up --replace");
  expect(() => checkPinnedHostKey("vm", "ssh-ed25519 A", "ssh-ed25519 A")).not.toThrow();
});
