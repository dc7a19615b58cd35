// Disposable test stacks: `npm run test-stack -- up <name> | destroy <name> | gc --older-than <hours>`.
// A test stack is `test-<name>`, configured from the dev stack with protectData false so that
// `pulumi destroy --remove` can take away every resource and the stack itself, and moved into its own mail
// namespace `<name>.test.<dev domain>` in dev's zone (components/core/environments.ts says why; the program
// refuses a test stack outside it).
// Pulumi is spawned with an argument array (no shell) and the terminal's stdio.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { SNAPSHOT_STACK_LABEL, snapshotStackLabel } from "../components/core/names";
import { LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING, TEST_STACK_PREFIX, testNamespace } from "../components/core/environments";

export const PREFIX = TEST_STACK_PREFIX;
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

// ---------- the test stack's own namespace ----------

/**
 * The `pulumi config` calls that move a copy of `source` (the `config:` map of Pulumi.<from>.yaml) into the test
 * stack's namespace: every hosted domain d becomes <name>.test.d in the same zone, the hostname
 * mail.<name>.test.<domain>, every address in a hosted domain follows its domain, dev's extra records and PTR are
 * dropped (they name dev's records), DNSSEC is off (the zone's signing is dev's), and Let's Encrypt production
 * becomes its staging directory.
 */
export function namespaceCalls(source: Record<string, unknown>, name: string, stack: string): string[][] {
  const plain = (key: string, v: unknown): string => {
    if (typeof v !== "string") {
      throw new PulumiError(`${key} of the source stack is ${v === undefined ? "missing" : "not a plain value (a secret?)"}: ` +
        "cannot move it into the test namespace — keep addresses and domains plain, secrets only in password fields");
    }
    return v.trim().toLowerCase();
  };
  const domain = plain("mailserver:domain", source["mailserver:domain"]);
  const set = (key: string, value: string, path = false) => ["config", "set", ...(path ? ["--path"] : []), key, value, "--stack", stack];
  const calls: string[][] = [set("mailserver:domain", testNamespace(name, domain)), set("mailserver:hostname", `mail.${testNamespace(name, domain)}`)];

  const list = (key: string): Record<string, unknown>[] => {
    const v = source[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new PulumiError(`${key} of the source stack is not a plain list (a secret?): cannot move it into the test namespace`);
    return v as Record<string, unknown>[];
  };
  const extra = list("mailserver:extraDomains");
  const hosted = [domain, ...extra.map((d, i) => plain(`mailserver:extraDomains[${i}].name`, d.name))];
  extra.forEach((_, i) => calls.push(set(`mailserver:extraDomains[${i}].name`, testNamespace(name, hosted[i + 1]), true)));
  const moved = (address: string): string | undefined => {
    const at = address.lastIndexOf("@");
    const d = address.slice(at + 1).toLowerCase();
    return hosted.includes(d) ? `${address.slice(0, at)}@${testNamespace(name, d)}` : undefined;
  };
  const move = (key: string, v: unknown) => {
    const to = moved(plain(key, v));
    if (to !== undefined) calls.push(set(key, to, true));
  };
  list("mailserver:users").forEach((u, i) => move(`mailserver:users[${i}].address`, u.address));
  list("mailserver:aliases").forEach((a, i) => {
    move(`mailserver:aliases[${i}].source`, a.source);
    (Array.isArray(a.destinations) ? a.destinations as unknown[] : []).forEach((d, j) => {
      if (d !== "discard") move(`mailserver:aliases[${i}].destinations[${j}]`, d);
    });
  });
  for (const key of ["mailserver:dmarcReportEmail", "mailserver:acmeEmail"]) {
    if (source[key] !== undefined && source[key] !== "") move(key, source[key]);
  }
  if (source["mailserver:extraRecords"] !== undefined) calls.push(["config", "rm", "mailserver:extraRecords", "--stack", stack]);
  if (source["mailserver:ptr"] !== undefined) calls.push(set("mailserver:ptr", "false"));
  // DNSSEC of the shared zone stays with the stack that owns it (core/environments.ts).
  if (source["mailserver:dnssec"] !== undefined) calls.push(set("mailserver:dnssec", "false"));
  const acme = source["mailserver:acmeServer"];
  if (acme === undefined || acme === LETS_ENCRYPT_PRODUCTION) calls.push(set("mailserver:acmeServer", LETS_ENCRYPT_STAGING));
  return calls;
}

/** The `config:` map of Pulumi.<stack>.yaml in the working directory (the project's). */
function stackFileConfig(stack: string): Record<string, unknown> {
  const file = `Pulumi.${stack}.yaml`;
  if (!existsSync(file)) throw new PulumiError(`no ${file} here: run from the project directory, or pick a stack with --from`);
  const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  return doc?.config ?? {};
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

const find = (stacks: StackSummary[], stack: string) => stacks.find((s) => bareName(s.name) === stack);

/** gcloud's arguments that list the scheduled snapshots of a stack's data disk (labelled by components/host.ts). */
export function snapshotListArgs(project: string, stack: string): string[] {
  return ["compute", "snapshots", "list", "--project", project,
    "--filter", `labels.${SNAPSHOT_STACK_LABEL}=${snapshotStackLabel(stack)}`, "--format", "value(name)"];
}

function stackConfigValue(listed: string, key: string): string {
  const r = spawnSync("pulumi", ["config", "get", key, "--stack", listed], { stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new PulumiError(`pulumi config get ${key} --stack ${listed} failed (exit ${r.status ?? r.signal})`);
  return r.stdout.trim();
}

function gcloud(args: string[]): string {
  const r = spawnSync("gcloud", args, { stdio: ["inherit", "pipe", "inherit"], encoding: "utf8" });
  if (r.error) throw new PulumiError(`cannot run gcloud: ${r.error.message} — install the Google Cloud CLI`);
  if (r.status !== 0) throw new PulumiError(`gcloud ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
  return r.stdout;
}

/**
 * Destroys a listed stack and everything it made, from any checkout: Pulumi.<stack>.yaml exists only where
 * `up` ran, never in CI's clean checkout, and both `config get` below and the destroy's providers need the config.
 * `pulumi config refresh` writes it from the stack's last update (its config and secrets-provider settings:
 * pulumi/pulumi pkg/cmd/pulumi/config/config.go newConfigRefreshCmd, backend.GetLatestConfiguration);
 * --force overwrites a local copy without a .bak, and --remove deletes the file again. A stack that was never
 * updated has no last configuration and no resources: `stack rm` (which refuses while resources remain,
 * pkg/cmd/pulumi/stack/stack_remove.go) takes it away.
 */
function destroy(stack: StackSummary): void {
  const listed = stack.name;
  if (!stack.lastUpdate) {
    pulumi(["stack", "rm", "--yes", "--stack", listed]);
    return;
  }
  pulumi(["config", "refresh", "--force", "--stack", listed]);
  const project = stackConfigValue(listed, "gcp:project");
  // --remove deletes the stack and its Pulumi.<stack>.yaml once every resource is gone.
  pulumi(["destroy", "--yes", "--remove", "--stack", listed]);
  // The schedule's snapshots outlive the disk and the schedule (they would only expire after the retention):
  // a test stack leaves nothing behind.
  const snapshots = gcloud(snapshotListArgs(project, bareName(listed))).split("\n").filter((n) => n.trim() !== "");
  if (snapshots.length > 0) gcloud(["compute", "snapshots", "delete", "--quiet", "--project", project, ...snapshots]);
}

export function run(cmd: Command, now: Date = new Date()): void {
  switch (cmd.kind) {
    case "up": {
      if (!find(listStacks(), cmd.stack)) {
        // Read before init: a failure leaves no half-made stack behind.
        const calls = namespaceCalls(stackFileConfig(cmd.from), cmd.stack.slice(PREFIX.length), cmd.stack);
        pulumi(["stack", "init", cmd.stack, "--copy-config-from", cmd.from]);
        for (const call of calls) pulumi(call);
      }
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
      const stacks = listStacks();
      const expired = expiredTestStacks(stacks, cmd.olderThanHours, now);
      console.log(expired.length === 0 ? `no test stack older than ${cmd.olderThanHours} h`
        : `destroying ${expired.length} test stack(s) older than ${cmd.olderThanHours} h: ${expired.join(", ")}`);
      const failed: string[] = [];
      for (const stack of stacks.filter((s) => expired.includes(s.name))) {
        try {
          destroy(stack);
        } catch (e) {
          // Keep collecting the others; one stuck stack must not keep the rest alive.
          console.error(e instanceof Error ? e.message : String(e));
          failed.push(stack.name);
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
