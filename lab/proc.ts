// Running programs for the lab: foreground commands that fail loudly, and background daemons with pid files.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO, p } from "./paths";

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Do not throw on a non-zero exit; the caller reads `code`. */
  allowFail?: boolean;
}
export interface RunResult { code: number; stdout: string; stderr: string }

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      const r = { code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (r.code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`));
      } else resolve(r);
    });
    child.stdin.on("error", () => undefined); // a command that does not read stdin must not crash us
    child.stdin.end(opts.input ?? "");
  });
}

export async function ok(cmd: string, args: string[]): Promise<boolean> {
  return (await run(cmd, args, { allowFail: true }).catch(() => ({ code: 1 }))).code === 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

const pidFile = (name: string) => path.join(p.pids, `${name}.pid`);

/** Starts a daemon in its own process group, output to .lab/logs/<name>.log, pid in .lab/pids/<name>.pid. */
export function startDaemon(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  fs.mkdirSync(p.pids, { recursive: true });
  fs.mkdirSync(p.logs, { recursive: true });
  const log = fs.openSync(path.join(p.logs, `${name}.log`), "a", 0o600);
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", log, log], env: env ?? process.env, cwd: REPO });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  child.unref();
  fs.writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

export function daemonPid(name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(name), "utf8").trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Stops a daemon we started, by the pid we recorded: its whole process group unless `group` is false
 * (the machine supervisor forwards SIGTERM itself); quiet if it is gone.
 */
export async function stopDaemon(name: string, opts: { timeoutMs?: number; group?: boolean } = {}): Promise<void> {
  const pid = daemonPid(name);
  if (pid !== undefined) {
    const target = opts.group === false ? pid : -pid;
    try { process.kill(target, "SIGTERM"); } catch { /* already gone */ }
    const end = Date.now() + (opts.timeoutMs ?? 10000);
    while (isAlive(pid) && Date.now() < end) await sleep(250);
    if (isAlive(pid)) try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ }
  }
  fs.rmSync(pidFile(name), { force: true });
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** The phase running now, with the log that tells what went wrong in it: a failure names both. */
let phase: { name: string; log: string } | undefined;
const labStarted = Date.now();
const elapsed = () => `${((Date.now() - labStarted) / 1000).toFixed(1)}s`;

/** Starts a phase: printed with the time since the command started; `log` is where its programs write. */
export function step(msg: string, log = p.logs): void {
  phase = { name: msg, log };
  process.stdout.write(`==> [${elapsed().padStart(6)}] ${msg}\n`);
}

/** What to tell a user when the command fails: the phase it was in, when, and the log to read. */
export function failureReport(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!phase) return message;
  return `failed at ${elapsed()} in the phase "${phase.name}": ${message}\n    read ${path.relative(process.cwd(), phase.log) || phase.log}`;
}
export function info(msg: string): void {
  process.stdout.write(`    ${msg}\n`);
}
