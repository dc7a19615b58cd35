// Issue 20 §2: `npm run lab -- preview` prints the plan the engine decides from the cited rules and changes
// nothing; a new boot disk size is an in-place update of the VM (terraform-provider-google-beta), not a
// replacement; a new zone without a snapshot to make the data disk from is refused by the program at preview
// (components/core/zone-move.ts: GCE cannot move the disk, a new one would be empty), naming protectData in
// production, and a deploy of it does nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_DIR, loadLab } from "../lib/lab";
import { configCopy, deployLab, ensureDeployed, labCli, labConfigFile, stateResource } from "../lib/deploy";

const lab = loadLab();
const configFile = labConfigFile(lab);
const TIMEOUT = 30 * 60_000;
const state = () => readFileSync(join(LAB_DIR, "state.json"), "utf8");
const preview = (file: string) => labCli(["preview", "--config", file], TIMEOUT);
const deploy = (file: string) => labCli(["deploy", "--config", file], TIMEOUT);

beforeAll(async () => { await ensureDeployed(configFile); }, TIMEOUT);
afterAll(async () => { await deployLab(configFile); }, TIMEOUT);

test("the deployed stack previews as no change, and the preview writes nothing", async () => {
  const before = state();
  const r = await preview(configFile);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/plan: no change, \d+ unchanged/);
  expect(state()).toBe(before);
}, TIMEOUT);

test("a new boot disk size previews as an update of the VM, not a replacement", async () => {
  const before = state();
  const r = await preview(configCopy(configFile, "preview-boot-disk", { "mailserver:bootDiskSizeGb": 11 }));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/update\s+gcp:compute\/instance:Instance mail-vm \[bootDisk\.initializeParams\.size\]/);
  expect(r.stdout).not.toMatch(/replace\s+gcp:compute\/instance:Instance/);
  expect(state()).toBe(before);
}, TIMEOUT);

test("protectData: a new zone without a snapshot is refused at preview, with the way to move; the deploy does nothing", async () => {
  const protectedFile = configCopy(configFile, "protected", { "mailserver:protectData": true });
  await deployLab(protectedFile);
  expect(stateResource("gcp:compute/disk:Disk", "mail-data").protect).toBe(true);
  const before = state();
  const moved = configCopy(configFile, "protected-zone", { "mailserver:protectData": true, "gcp:zone": "lab-local1-b" });
  const r = await preview(moved);
  const refusal = "gcp:zone lab-local1-b: the mail data disk is in lab-local1-a, and GCE cannot move a disk";
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(refusal);
  expect(r.stderr).toContain("This stack protects its data (mailserver:protectData)");
  const d = await deploy(moved);
  expect(d.code).not.toBe(0);
  expect(d.stderr).toContain(refusal);
  expect(state()).toBe(before);
}, 3 * TIMEOUT);
