// Issue 11 §2: changing one mail setting (messageSizeLimitMb) runs exactly that file's stage command and
// the apply, and reloads Postfix only; going back to the lab's own config does the same in reverse.
import { loadLab } from "./lib/lab";
import { configCopy, deployLab, DeployRecord, ensureDeployed, labConfigFile, machineState, stateOutputs } from "./lib/deploy";
import { onMachineOk } from "./lib/machine";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const MAIN_CF = "mail-file-etc-postfix-main.cf";
const remote = (r: DeployRecord) => r.commands.filter((c) => c.where === "remote").map((c) => `${c.name} ${c.phase}`);
const applyOutput = () => String(stateOutputs("command:remote:Command", "mail-apply").stdout);
const sizeLimit = async () => (await onMachineOk(lab, "postconf -h message_size_limit")).trim();

describe("changing messageSizeLimitMb", () => {
  let before: Record<string, string>;
  let original: string;
  let changed: DeployRecord;
  let limitMb: number;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    before = await machineState(lab);
    original = await sizeLimit();
    limitMb = Number(original) === 31 * 1024 * 1024 ? 32 : 31;
    changed = await deployLab(configCopy(configFile, "message-size", { "mailserver:messageSizeLimitMb": limitMb }));
  }, DEPLOY_TIMEOUT);

  // Back to the lab's own config, so that later test files see the standard lab.
  afterAll(async () => {
    const back = await deployLab(configFile);
    expect(remote(back)).toEqual([`${MAIN_CF} update`, "mail-apply create"]);
    expect(await sizeLimit()).toBe(original);
  }, DEPLOY_TIMEOUT);

  test("runs main.cf's stage command (an update) and a new apply (its triggers changed), nothing else", () => {
    expect(changed.operations.length).toBeGreaterThan(0); // control: a changed deploy is not a no-op
    expect(changed.operations.filter((o) => !o.original).map((o) => `${o.op} ${o.name}`))
      .toEqual([`update ${MAIN_CF}`, "replace mail-apply"]);
    expect(changed.operations.find((o) => o.name === MAIN_CF)?.changed).toEqual(["stdin"]);
    expect(remote(changed)).toEqual([`${MAIN_CF} update`, "mail-apply create"]);
  });

  test("the server has the new limit; the apply reloaded Postfix only", async () => {
    expect(await sizeLimit()).toBe(String(limitMb * 1024 * 1024));
    expect(applyOutput()).toContain("reloaded postfix");
    expect(applyOutput()).not.toMatch(/dovecot|opendkim/);
  });

  test("only main.cf changed; no daemon restarted (a Postfix reload keeps its master)", async () => {
    const after = await machineState(lab);
    const differs = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
    expect(differs).toEqual(["file /etc/postfix/main.cf"]);
  });
});
