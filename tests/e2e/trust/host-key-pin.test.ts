// Issue 21 §2: the deploy pins the VM's SSH host key once per instance (components/host.ts: a pulumi.Stash in the
// state) and does not trust the guest attribute again: anything on the VM can overwrite hostkeys/ssh-ed25519
// through the metadata server (PUT, as google-guest-agent publishes it). Overwritten, the next deploy stops with
// a message naming both keys; the control deploys with the key unchanged, before and after.
import { loadLab } from "../lib/lab";
import { deployLab, ensureDeployed, labCli, labConfigFile } from "../lib/deploy";
import { onMachineOk } from "../lib/machine";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const FORGED = "AAAAC3NzaC1lZDI1NTE5AAAAIForgedByAProcessOnTheVm0000000000000000";

/** Writes the guest attribute from inside the machine, as the guest agent (or anything else there) does. */
const publish = (value: string) => onMachineOk(lab, `curl -sS --fail -X PUT -H 'Metadata-Flavor: Google' --data '${value}' ` +
  "http://169.254.169.254/computeMetadata/v1/instance/guest-attributes/hostkeys/ssh-ed25519");
const realKey = async () => (await onMachineOk(lab, "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub")).trim();

describe("the pinned host key", () => {
  let real: string;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    real = await realKey();
  }, DEPLOY_TIMEOUT);

  afterAll(async () => {
    await publish(real);
    await deployLab(configFile);
  }, DEPLOY_TIMEOUT);

  test("control: with the published key unchanged, a deploy goes through", async () => {
    const again = await deployLab(configFile);
    expect(again.operations.filter((o) => o.name === "mail-host-key")).toEqual([]);
  }, DEPLOY_TIMEOUT);

  test("a guest attribute overwritten on the VM stops the next deploy with a message naming both keys", async () => {
    await publish(FORGED);
    const r = await labCli(["deploy", "--config", configFile], DEPLOY_TIMEOUT);
    const output = r.stdout + r.stderr;
    expect(r.code).not.toBe(0);
    expect(output).toContain(`now publishes the SSH host key ssh-ed25519 ${FORGED}`);
    expect(output).toContain(`not ssh-ed25519 ${real}, the key pinned when this instance was first deployed`);
  }, DEPLOY_TIMEOUT);

  test("with the genuine key published again, the deploy goes through", async () => {
    await publish(real);
    await expect(deployLab(configFile)).resolves.toBeDefined();
  }, DEPLOY_TIMEOUT);
});
