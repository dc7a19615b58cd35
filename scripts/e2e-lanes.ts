// npm run test:e2e: the e2e suite in two lanes side by side, each on a lab of its own (LAB_INSTANCE N and N+1, N
// from LAB_INSTANCE, default 0). Half the suite waits (on reboots, bans, greylisting, timers) and half is CPU, so two
// lanes on two cores take about half the time of one (docs/development.md, "Where the CI time goes"). Which file runs
// in which lane: tests/e2e/sequencer.js. Each lane brings its lab up if it is not (tests/e2e/global-setup.ts) and
// takes it down afterwards unless LAB_KEEP=1.
//   npm run test:e2e [-- <jest options>]   both lanes (the options go to both)
//   npm run test:e2e -- <files> [options]  those files (existing paths) in one jest run on LAB_INSTANCE, as E2E_LANES=1 does
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as readline from "node:readline";
import { INSTANCE } from "../lab/paths";

const JEST = require.resolve("jest/bin/jest");
const CONFIG = ["-c", "jest.e2e.config.js"];

/** One jest run; its output lines prefixed with the lane's name when there are two. */
function jest(args: string[], env: NodeJS.ProcessEnv, prefix?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [JEST, ...CONFIG, ...args], { env, stdio: prefix ? ["ignore", "pipe", "pipe"] : "inherit" });
    if (prefix) {
      for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
        readline.createInterface({ input: from! }).on("line", (line) => to.write(`${prefix} ${line}\n`));
      }
    }
    child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // A path among the arguments picks files: one jest run. Option values (`-t <name>`) are not paths.
  if (args.some((a) => existsSync(a)) || process.env.E2E_LANES === "1") return jest(args, process.env);
  const lanes = [1, 2].map((lane) => {
    const instance = INSTANCE + lane - 1;
    process.stderr.write(`e2e lane ${lane}: LAB_INSTANCE=${instance}, jest --shard=${lane}/2\n`);
    return jest([`--shard=${lane}/2`, ...args], { ...process.env, LAB_INSTANCE: String(instance) }, `[lane ${lane}]`);
  });
  const codes = await Promise.all(lanes);
  codes.forEach((code, i) => process.stderr.write(`e2e lane ${i + 1}: ${code === 0 ? "passed" : `failed (exit ${code})`}\n`));
  return codes.every((c) => c === 0) ? 0 : 1;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
