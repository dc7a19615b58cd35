// The deploy measurements, each the wall-clock time of the command an admin types (npm run lab -- …).
import { rmSync } from "node:fs";
import { Lab, ROOT, labUser, loadLab } from "../../tests/e2e/lib/lab";
import { configCopy, labConfigFile, lastDeploy } from "../../tests/e2e/lib/deploy";
import { findInInbox } from "../../tests/e2e/lib/imap";
import { onMachine, onMachineOk } from "../../tests/e2e/lib/machine";
import { run } from "../../tests/e2e/lib/run";
import { submission } from "../../tests/e2e/lib/smtp";
import { waitFor } from "../../tests/e2e/lib/wait";
import { wallClockMs } from "./mail-load";

export interface ColdResult {
  /** lab up started → the first message, submitted on 587 when lab up returned, in the INBOX. */
  seconds: number;
  /** The part spent in npm run lab (machine, stand-ins, deploy). */
  labUpSeconds: number;
}

export interface DeployResult {
  seconds: number;
  /**
   * CPU time (user + system) of npm, tsx and the lab program on the host, which the load of other labs
   * does not stretch; remote commands run on the machine and are not in it.
   */
  cpuSeconds: number;
  /** The engine's own count (preview + deploy), without npm's and tsx's start. */
  engineSeconds: number;
  remoteCommands: number;
  changed: number;
}

export interface SettingResult extends DeployResult {
  setting: string;
  /** Deploying the lab's own stack file again afterwards. */
  restore: DeployResult;
}

/** bash's `times`: its own user and system time, then its children's. The children's, in seconds. */
export function childCpuSeconds(times: string): number {
  const lines = times.trim().split("\n");
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? "");
  if (!m) throw new Error(`no CPU times in "${times}"`);
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

/** `npm run lab -- <args>`, timed by the clock and by CPU time. */
async function lab(args: string[]): Promise<{ seconds: number; cpuSeconds: number }> {
  const t0 = wallClockMs();
  // The lab's output goes to stderr, so that stdout holds only what `times` prints.
  const r = await run("bash", ["-c", 'npm run lab -- "$@" >&2 && times', "bash", ...args], { cwd: ROOT, timeoutMs: 30 * 60_000 });
  const seconds = (wallClockMs() - t0) / 1000;
  if (r.code !== 0) throw new Error(`npm run lab -- ${args.join(" ")} failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  return { seconds, cpuSeconds: childCpuSeconds(r.stdout) };
}

async function timedDeploy(configFile: string): Promise<DeployResult> {
  const timed = await lab(["deploy", "--config", configFile]);
  const record = lastDeploy(configFile);
  return {
    ...timed,
    engineSeconds: record.seconds,
    remoteCommands: record.remoteCommands,
    changed: Object.entries(record.counts).filter(([op]) => op !== "same").reduce((n, [, c]) => n + (c ?? 0), 0),
  };
}

/**
 * Cold: `lab down` (machine, data disk, stand-ins and state gone), then `lab up` from the cached Debian
 * image and this instance's apt-cacher-ng cache (packages are installed, not downloaded), until a message
 * submitted on 587 is in the recipient's INBOX (IMAP, polled every 250 ms).
 */
export async function coldDeploy(subject: string): Promise<ColdResult> {
  await lab(["down"]);
  const t0 = wallClockMs();
  const up = await lab(["up"]);
  const fresh = loadLab();
  const alice = labUser(fresh, "alice@example.test");
  const bob = labUser(fresh, "bob@example.test");
  await submission(fresh, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: "first mail\n" });
  await waitFor(`"${subject}" in bob's INBOX`, () => findInInbox(fresh, bob, subject), { timeoutMs: 120_000, intervalMs: 250 });
  return { seconds: (wallClockMs() - t0) / 1000, labUpSeconds: up.seconds };
}

/** `npm run lab -- deploy` with nothing changed. */
export function noOpDeploy(l: Lab): Promise<DeployResult> {
  return timedDeploy(labConfigFile(l));
}

/** Postfix's message_size_limit on the machine, in MiB (messageSizeLimitMb renders it in MiB). */
async function sizeLimitMb(l: Lab): Promise<number> {
  return Number((await onMachineOk(l, "postconf -h message_size_limit")).trim()) / 2 ** 20;
}

/** messageSizeLimitMb one higher in a copy of the stack file, deployed; then the original deployed again. */
export async function oneSettingChange(l: Lab): Promise<SettingResult> {
  const standard = labConfigFile(l);
  const before = await sizeLimitMb(l);
  const copy = configCopy(standard, "bench-one-setting", { "mailserver:messageSizeLimitMb": before + 1 });
  let changed: DeployResult;
  try {
    changed = await timedDeploy(copy);
    const after = await sizeLimitMb(l);
    if (after !== before + 1) throw new Error(`after the deploy Postfix's message_size_limit is ${after} MiB, not ${before + 1}`);
  } catch (e) {
    // Put the lab back on its own file before reporting, so that the e2e suite finds it as it was.
    await timedDeploy(standard).catch(() => undefined);
    throw e;
  } finally {
    rmSync(copy, { force: true });
  }
  const restore = await timedDeploy(standard);
  return { ...changed, setting: `messageSizeLimitMb ${before} → ${before + 1}`, restore };
}

async function labAnswers(): Promise<boolean> {
  try {
    return (await onMachine(loadLab(), "true", 30_000)).code === 0;
  } catch {
    return false; // no lab.json yet
  }
}

/** Brings the lab up when it is not (not timed): the flows need a running lab. True if it had to. */
export async function ensureLabUp(): Promise<boolean> {
  if (await labAnswers()) return false;
  await lab(["up"]);
  return true;
}
