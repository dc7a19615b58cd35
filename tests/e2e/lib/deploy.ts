// Re-deploys the lab (`npm run lab -- deploy`) and reads the machine's state that a deploy must not disturb.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { Lab, LAB_DIR, ROOT } from "./lab";
import { onMachineOk } from "./machine";
import { run, RunResult } from "./run";

export function labConfigFile(lab: Lab): string {
  return lab.configFile ?? join(ROOT, "lab", "stack.yaml");
}

/** What a deploy did, from the record the lab engine writes (.lab/last-deploy.json, lab/plan.ts). */
export interface DeployRecord {
  configFile: string;
  /** The preview's steps, every resource's (same included), before the deploy ran. */
  plan?: { name: string; type: string; op: string; changed?: string[]; replaceBecause?: string[]; original?: boolean }[];
  seconds: number;
  counts: Partial<Record<"same" | "create" | "update" | "replace" | "delete", number>>;
  operations: { name: string; type: string; op: string; changed?: string[]; original?: boolean }[];
  remoteCommands: number;
  commands: { name: string; phase: "create" | "update" | "delete"; where: "remote" | "local" }[];
}

/**
 * `npm run lab -- <args>` as one Node process: tsx's loader in this Node (what `tsx lab/cli.ts` starts, without
 * npm's and tsx's own Node processes in front), trusting the lab CA from the start (lab/cli.ts underLabCa), which
 * the lab CLI would otherwise start itself a second time to get. The suite runs it about a hundred times.
 */
export function labCli(args: string[], timeoutMs: number): Promise<RunResult> {
  return run(process.execPath, ["--import", "tsx", join(ROOT, "lab", "cli.ts"), ...args],
    { cwd: ROOT, timeoutMs, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(LAB_DIR, "ca", "ca.pem") } });
}

export async function deployLab(configFile: string): Promise<DeployRecord> {
  const r = await labCli(["deploy", "--config", configFile], 30 * 60_000);
  if (r.code !== 0) throw new Error(`npm run lab -- deploy failed (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-4000)}`);
  return lastDeploy(configFile);
}

/**
 * A test's starting point: the lab deployed with `configFile`. Deploys it unless the last deploy completed with
 * that file (the lab drops the record when a deploy starts), since then the deploy would change nothing: the
 * redeploying tests check that themselves (07-redeploy), and here it would only cost a preview and a deploy.
 */
export async function ensureDeployed(configFile: string): Promise<void> {
  const record = join(LAB_DIR, "last-deploy.json");
  if (existsSync(record) && (JSON.parse(readFileSync(record, "utf8")) as DeployRecord).configFile === configFile) return;
  await deployLab(configFile);
}

/** The record of the last deploy, which must be of `configFile`. */
export function lastDeploy(configFile: string): DeployRecord {
  const record = JSON.parse(readFileSync(join(LAB_DIR, "last-deploy.json"), "utf8")) as DeployRecord;
  if (record.configFile !== configFile) throw new Error(`.lab/last-deploy.json is from ${record.configFile}, not ${configFile}`);
  return record;
}

/** A resource in the lab engine's state (.lab/state.json), by type and name: its outputs and its protect option. */
export function stateResource(type: string, name: string): { outputs: Record<string, unknown>; protect?: boolean } {
  const state = JSON.parse(readFileSync(join(LAB_DIR, "state.json"), "utf8")) as
    { resources: { type: string; name: string; outputs: Record<string, unknown>; protect?: boolean }[] };
  const r = state.resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`.lab/state.json has no ${type} ${name}`);
  return r;
}

/** A resource's outputs in the lab engine's state, by type and name. */
export function stateOutputs(type: string, name: string): Record<string, unknown> {
  return stateResource(type, name).outputs;
}

/** A copy of a stack file with `changes` set in its config (undefined: the key removed), in .lab (private: it holds passwords), 0600. */
export function configCopy(configFile: string, label: string, changes: Record<string, unknown>): string {
  const doc = parseDocument(readFileSync(configFile, "utf8"));
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) doc.deleteIn(["config", k]);
    else doc.setIn(["config", k], v);
  }
  const copy = join(LAB_DIR, `e2e-${label}.yaml`);
  writeFileSync(copy, doc.toString(), { mode: 0o600 });
  chmodSync(copy, 0o600);
  return copy;
}

/**
 * Daemon identities (master pids, unit main pids and start times) and every config file's hash, mode
 * and owner: two snapshots are equal only if nothing was restarted and no file changed.
 */
export async function machineState(lab: Lab): Promise<Record<string, string>> {
  const out = await onMachineOk(lab, `
    echo "pid postfix-master $(tr -d ' \\n' < /var/spool/postfix/pid/master.pid)"
    echo "pid dovecot-master $(tr -d ' \\n' < /run/dovecot/master.pid)"
    for u in ${lab.postfixUnit} dovecot opendkim; do
      echo "unit $u $(systemctl show -p MainPID --value "$u") $(systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"
    done
    find /etc/postfix /etc/dovecot /etc/opendkim* -xdev -type f -print0 | sort -z | while IFS= read -r -d '' f; do
      echo "file $f $(stat -c '%a %U:%G' "$f") $(sha256sum < "$f" | cut -d' ' -f1)"
    done
  `);
  const state: Record<string, string> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [kind, name, ...rest] = line.split(" ");
    state[`${kind} ${name}`] = rest.join(" ");
  }
  return state;
}

/** The data disk's filesystem UUID, probed on the device itself, and what /srv/mail is mounted from. */
export async function dataDisk(lab: Lab): Promise<{ uuid: string; source: string }> {
  const out = await onMachineOk(lab, `
    blkid -p -s UUID -o value /dev/disk/by-id/google-maildata
    findmnt -no SOURCE --target /srv/mail
  `);
  const [uuid = "", source = ""] = out.trim().split("\n").map((l) => l.trim());
  return { uuid, source };
}
