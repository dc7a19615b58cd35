// Disposable test stacks: `npm run test-stack -- up <name> | destroy <name> | gc --older-than <hours>`.
// A test stack is `test-<name>`, configured from the dev stack with protectData false so that
// `pulumi destroy --remove` can take away every resource and the stack itself.
// Pulumi is spawned with an argument array (no shell) and the terminal's stdio.
import { spawnSync } from "node:child_process";

export const PREFIX = "test-";
const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const USAGE = `usage: npm run test-stack -- up <name> [--from <stack>]
       npm run test-stack -- destroy <name>
       npm run test-stack -- gc --older-than <hours>
<name>: lower-case letters, digits and single dashes (e.g. pr-42); the stack is test-<name>.`;

export class UsageError extends Error {}

export type Command =
  | { kind: "up"; stack: string; from: string }
  | { kind: "destroy"; stack: string }
  | { kind: "gc"; olderThanHours: number };

/** The stack for a test name; rejects anything that is not lower-case letters, digits and dashes. */
export function testStackName(name: string | undefined): string {
  if (!name) throw new UsageError(`missing <name>\n${USAGE}`);
  const bare = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
  if (!NAME.test(bare) || bare.length > 60) {
    throw new UsageError(`invalid name "${name}": use lower-case letters, digits and single dashes, e.g. pr-42`);
  }
  return PREFIX + bare;
}

export function parseArgs(argv: string[]): Command {
  const [verb, ...rest] = argv;
  const option = (flag: string): string | undefined => {
    const i = rest.indexOf(flag);
    if (i < 0) return undefined;
    const value = rest[i + 1];
    if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    rest.splice(i, 2);
    return value;
  };
  const noExtra = () => {
    if (rest.length > 0) throw new UsageError(`unexpected argument(s): ${rest.join(" ")}\n${USAGE}`);
  };
  switch (verb) {
    case "up": {
      const from = option("--from") ?? "dev";
      const stack = testStackName(rest.shift());
      noExtra();
      return { kind: "up", stack, from };
    }
    case "destroy": {
      const stack = testStackName(rest.shift());
      noExtra();
      return { kind: "destroy", stack };
    }
    case "gc": {
      const raw = option("--older-than");
      noExtra();
      const hours = Number(raw);
      if (raw === undefined || !Number.isFinite(hours) || hours <= 0) {
        throw new UsageError(`gc needs --older-than <hours>, a positive number\n${USAGE}`);
      }
      return { kind: "gc", olderThanHours: hours };
    }
    default:
      throw new UsageError(verb ? `unknown command "${verb}"\n${USAGE}` : USAGE);
  }
}

/** One entry of `pulumi stack ls --json`. */
export interface StackSummary {
  name: string;
  lastUpdate?: string;
  updateInProgress?: boolean;
}

/** The bare stack name: Pulumi Cloud may list `org/project/stack`. */
export const bareName = (listed: string): string => listed.slice(listed.lastIndexOf("/") + 1);

/** Test stacks whose last update finished more than `hours` before `now`; stacks never updated are skipped. */
export function expiredTestStacks(stacks: StackSummary[], hours: number, now: Date): string[] {
  const cutoff = now.getTime() - hours * 3600_000;
  return stacks.filter((s) => {
    if (!bareName(s.name).startsWith(PREFIX) || s.updateInProgress || !s.lastUpdate) return false;
    const at = Date.parse(s.lastUpdate);
    return Number.isFinite(at) && at < cutoff;
  }).map((s) => s.name);
}

// ---------- running pulumi ----------

export class PulumiError extends Error {}

function pulumi(args: string[]): void {
  const r = spawnSync("pulumi", args, { stdio: "inherit" });
  if (r.error) throw new PulumiError(`cannot run pulumi: ${r.error.message} — install the Pulumi CLI and log in`);
  if (r.status !== 0) throw new PulumiError(`pulumi ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

function listStacks(): StackSummary[] {
  const r = spawnSync("pulumi", ["stack", "ls", "--json"], { stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  if (r.error) throw new PulumiError(`cannot run pulumi: ${r.error.message} — install the Pulumi CLI and log in`);
  if (r.status !== 0) throw new PulumiError(`pulumi stack ls --json failed (exit ${r.status ?? r.signal})`);
  const parsed: unknown = JSON.parse(r.stdout);
  if (!Array.isArray(parsed)) throw new PulumiError("pulumi stack ls --json did not print a list");
  return parsed.filter((s): s is StackSummary => typeof s === "object" && s !== null && typeof s.name === "string");
}

const find = (stacks: StackSummary[], stack: string) => stacks.find((s) => bareName(s.name) === stack)?.name;

function destroy(listed: string): void {
  // --remove deletes the stack and its Pulumi.<stack>.yaml once every resource is gone.
  pulumi(["destroy", "--yes", "--remove", "--stack", listed]);
}

export function run(cmd: Command, now: Date = new Date()): void {
  switch (cmd.kind) {
    case "up": {
      if (!find(listStacks(), cmd.stack)) pulumi(["stack", "init", cmd.stack, "--copy-config-from", cmd.from]);
      pulumi(["config", "set", "mailserver:protectData", "false", "--stack", cmd.stack]);
      pulumi(["up", "--yes", "--stack", cmd.stack]);
      return;
    }
    case "destroy": {
      const listed = find(listStacks(), cmd.stack);
      if (!listed) {
        console.log(`no stack ${cmd.stack}: nothing to destroy`);
        return;
      }
      destroy(listed);
      return;
    }
    case "gc": {
      const expired = expiredTestStacks(listStacks(), cmd.olderThanHours, now);
      console.log(expired.length === 0 ? `no test stack older than ${cmd.olderThanHours} h`
        : `destroying ${expired.length} test stack(s) older than ${cmd.olderThanHours} h: ${expired.join(", ")}`);
      const failed: string[] = [];
      for (const stack of expired) {
        try {
          destroy(stack);
        } catch (e) {
          // Keep collecting the others; one stuck stack must not keep the rest alive.
          console.error(e instanceof Error ? e.message : String(e));
          failed.push(stack);
        }
      }
      if (failed.length > 0) throw new PulumiError(`could not destroy: ${failed.join(", ")}`);
      return;
    }
  }
}

if (require.main === module) {
  try {
    run(parseArgs(process.argv.slice(2)));
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof PulumiError)) throw e;
    console.error(`test-stack: ${e.message}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
