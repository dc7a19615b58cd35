// npm run status -- --stack writes the deploy key to a private temporary directory: it must not outlive the
// process, however that ends.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { privateKeyDir } from "../../scripts/status-stack";

const ROOT = resolve(__dirname, "../..");
let base: string;
beforeEach(() => { base = mkdtempSync(join(tmpdir(), "status-key-test-")); });
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** Starts the fixture; resolves with its key directory (once written) and a promise of its end. */
function holder(how: "throw" | "wait"): Promise<{ dir: string; pid: number; ended: Promise<{ code: number | null; signal: string | null }> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests/fixtures/status-key-dir.ts"), base, how], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const ended = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return new Promise((resolveDir, reject) => {
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) resolveDir({ dir: out.trim(), pid: child.pid ?? 0, ended });
    });
    void ended.then((e) => reject(new Error(`the fixture ended before printing its directory: ${JSON.stringify(e)}`)));
  });
}

test("an uncaught exception: the key directory is gone", async () => {
  const { dir, ended } = await holder("throw");
  expect(existsSync(join(dir, "key"))).toBe(true);
  expect((await ended).code).not.toBe(0);
  expect(existsSync(dir)).toBe(false);
}, 60_000);

test.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("killed by %s: the key directory is gone, and the process still dies of the signal", async (signal) => {
  const { dir, pid, ended } = await holder("wait");
  process.kill(pid, signal);
  expect((await ended).signal).toBe(signal);
  expect(existsSync(dir)).toBe(false);
}, 60_000);

test("killed outright (SIGKILL): the next run removes what the dead process left; a live one's stays", async () => {
  const { dir, pid, ended } = await holder("wait");
  const live = await holder("wait");
  process.kill(pid, "SIGKILL");
  await ended;
  // Control: nothing could run in the killed process, so its directory is still there.
  expect(existsSync(join(dir, "key"))).toBe(true);
  const next = privateKeyDir(base);
  try {
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(live.dir, "key"))).toBe(true);
  } finally {
    next.remove();
    process.kill(live.pid, "SIGTERM");
    await live.ended;
  }
}, 60_000);
