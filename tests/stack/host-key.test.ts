// The VM's SSH host key: read from the guest attribute the guest agent publishes, pinned once per instance in
// the state (a pulumi.Stash replaced only with a new instance), and a changed key afterwards stops the deploy.
// A read that fails (no such instance, wrong project, no permission) is reported at once, never polled.
import { checkPinnedHostKey, publishedHostKey } from "../../components/host";
import { byType, runProgram, TEST_HOST_KEY, TEST_INSTANCE_ID, unwrap } from "./harness";
import { stackConfig } from "./config";

const GUEST_ATTRIBUTES = "gcp:compute/getInstanceGuestAttributes:getInstanceGuestAttributes";
const connectionKeys = (r: Awaited<ReturnType<typeof runProgram>>) =>
  [...new Set(byType(r, "command:remote:Command").map((c) => (unwrap(c.inputs.connection) as { hostKey?: string }).hostKey))];

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

test("a failing read (permission, wrong project) is reported as itself at once, without polling", async () => {
  const started = Date.now();
  let reads = 0;
  let failure: Error | undefined;
  // The read alone, its rejection caught here: no Output is left rejected after the test.
  const r = await runProgram(stackConfig(), {
    program: async () => {
      await publishedHostKey("mail-vm", "europe-west1-b", "proj").catch((e: Error) => { failure = e; });
      return {};
    },
    guestAttributes: () => {
      reads++;
      throw new Error("Error when reading or editing Instance mail-vm: googleapi: Error 403: Required 'compute.instances.get' permission");
    },
  });
  expect(r.error).toBeUndefined();
  expect(failure?.message).toContain("reading the guest attribute hostkeys/ssh-ed25519 of the VM mail-vm (project proj, zone europe-west1-b) failed");
  // The mock runtime drops an invoke's error text; the provider's (e.g. "Error 403: Required 'compute.instances.get'
  // permission") follows "failed:" in a real run.
  expect(failure?.message).toContain("check gcp:project and gcp:zone, and that the deploying identity may read the instance");
  expect(failure?.message).not.toContain("enable-guest-attributes");
  expect(reads).toBe(1);
  expect(Date.now() - started).toBeLessThan(4000);
});

// The deploy that stops on a changed key is run for real in tests/e2e/trust/host-key-pin.test.ts; a program-level
// run here would leave the refused key's rejected outputs unhandled after the test.
test("a key that differs from the pinned one is refused, naming both keys and how to pin again", () => {
  const pinned = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedAtFirstDeploy";
  const now = `ssh-ed25519 ${TEST_HOST_KEY}`;
  expect(() => checkPinnedHostKey("mail-vm", pinned, now)).toThrow(
    `the VM mail-vm now publishes the SSH host key ${now} (guest attribute hostkeys/ssh-ed25519), not ${pinned}, the key pinned when this instance was first deployed`);
  expect(() => checkPinnedHostKey("mail-vm", pinned, now)).toThrow("pulumi up --replace");
  expect(checkPinnedHostKey("vm", "ssh-ed25519 A", "ssh-ed25519 A")).toBe("ssh-ed25519 A");
});
