// The test-stack script, run for real against a fake `pulumi` first on PATH that records every call's arguments.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listArgs, tunnelArgs, tunnelFor } from "../../scripts/iap-tunnel";
import { expiredTestStacks, namespaceCalls, parseArgs, testStackName } from "../../scripts/test-stack";

const ROOT = join(__dirname, "../..");
const TSX = join(ROOT, "node_modules/tsx/dist/cli.mjs");
const SCRIPT = join(ROOT, "scripts/test-stack.ts");

// One line per call, arguments separated by tabs; `stack ls --json` prints $FAKE_STACKS; a call whose
// arguments contain $FAKE_FAIL exits 1. Stack files live in the working directory as for the real CLI:
// `config refresh` writes Pulumi.<stack>.yaml from the last deployment, `destroy --remove` deletes it, and
// `config get` fails without it (as the CLI does: the key is not in an empty stack config).
const FAKE_PULUMI = `#!/bin/sh
for a in "$@"; do printf '%s\\t' "$a"; done >> "$PULUMI_LOG"
printf '\\n' >> "$PULUMI_LOG"
case "$*" in *"$FAKE_FAIL"*) [ -n "$FAKE_FAIL" ] && exit 1 ;; esac
for a in "$@"; do stack="$a"; done
file="Pulumi.\${stack##*/}.yaml"
[ "$*" = "stack ls --json" ] && printf '%s\\n' "$FAKE_STACKS"
[ "$1 $2" = "config refresh" ] && printf 'config:\\n  gcp:project: proj\\n' > "$file"
if [ "$1 $2 $3" = "config get gcp:project" ]; then
  [ -f "$file" ] || { echo "error: configuration key 'gcp:project' not found for stack '\${stack##*/}'" >&2; exit 255; }
  echo proj
fi
[ "$1" = destroy ] && case "$*" in *--remove*) rm -f "$file" ;; esac
exit 0
`;
// gcloud logs the same way, its calls starting with "gcloud"; `snapshots list` prints $FAKE_SNAPSHOTS.
const FAKE_GCLOUD = `#!/bin/sh
printf 'gcloud\\t' >> "$PULUMI_LOG"
for a in "$@"; do printf '%s\\t' "$a"; done >> "$PULUMI_LOG"
printf '\\n' >> "$PULUMI_LOG"
[ "$1 $2 $3" = "compute snapshots list" ] && [ -n "$FAKE_SNAPSHOTS" ] && printf '%s\\n' $FAKE_SNAPSHOTS
exit 0
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fake-pulumi-"));
  writeFileSync(join(dir, "pulumi"), FAKE_PULUMI);
  chmodSync(join(dir, "pulumi"), 0o755);
  writeFileSync(join(dir, "gcloud"), FAKE_GCLOUD);
  chmodSync(join(dir, "gcloud"), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run { status: number | null; stdout: string; stderr: string; calls: string[][]; files: string[] }

/**
 * A clean checkout, as CI's actions/checkout and `npm ci` leave it: the committed top-level entries and
 * node_modules (linked), and no stack file but the committed ones: never a test stack's Pulumi.test-*.yaml.
 */
function cleanCheckout(): string {
  const at = join(dir, "checkout");
  mkdirSync(at);
  const committed = spawnSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n").filter((f) => f !== "");
  for (const top of new Set([...committed.map((f) => f.split("/")[0]), "node_modules"])) symlinkSync(join(ROOT, top), join(at, top));
  return at;
}
const stackFiles = (at: string) => readdirSync(at).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f)).sort();

function runScript(args: string[], opts: { stacks?: unknown[]; fail?: string; path?: string; viaNpm?: boolean; snapshots?: string[]; cwd?: string } = {}): Run {
  const log = join(dir, "log");
  writeFileSync(log, "");
  const cwd = opts.cwd ?? ROOT;
  const env = {
    ...process.env,
    PATH: opts.path ?? `${dir}:${process.env.PATH ?? ""}`,
    PULUMI_LOG: log,
    FAKE_STACKS: JSON.stringify(opts.stacks ?? []),
    FAKE_FAIL: opts.fail ?? "",
    FAKE_SNAPSHOTS: (opts.snapshots ?? []).join(" "),
  };
  const r = opts.viaNpm
    ? spawnSync("npm", ["run", "--silent", "test-stack", "--", ...args], { cwd, env, encoding: "utf8" })
    : spawnSync(process.execPath, [TSX, SCRIPT, ...args], { cwd, env, encoding: "utf8" });
  const calls = readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => l.split("\t").slice(0, -1));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, files: stackFiles(cwd) };
}

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const LS = ["stack", "ls", "--json"];
const project = (stack: string) => ["config", "get", "gcp:project", "--stack", stack];
const listSnapshots = (label: string) => ["gcloud", "compute", "snapshots", "list", "--project", "proj",
  "--filter", `labels.mailserver-stack=${label}`, "--format", "value(name)"];
/** What destroying one stack runs: its config from its last update, its project, the destroy, the search for its snapshots. */
const destroyCalls = (stack: string, label: string) => [["config", "refresh", "--force", "--stack", stack], project(stack),
  ["destroy", "--yes", "--remove", "--stack", stack], listSnapshots(label)];

describe("up", () => {
  test("creates test-<name> from the dev config, turns protection off, and deploys", () => {
    const r = runScript(["up", "pr-7"], { stacks: [{ name: "dev", current: true }] });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Pulumi.dev.yaml: example.com, alice@example.com, no-reply@example.com → discard, tls acme.
    const set = (...a: string[]) => ["config", "set", ...a, "--stack", "test-pr-7"];
    expect(r.calls).toEqual([
      LS,
      ["stack", "init", "test-pr-7", "--copy-config-from", "dev"],
      set("mailserver:domain", "pr-7.test.example.com"),
      set("mailserver:hostname", "mail.pr-7.test.example.com"),
      set("--path", "mailserver:users[0].address", "alice@pr-7.test.example.com"),
      set("--path", "mailserver:aliases[0].source", "no-reply@pr-7.test.example.com"),
      set("mailserver:acmeServer", "https://acme-staging-v02.api.letsencrypt.org/directory"),
      set("mailserver:protectData", "false"),
      ["up", "--yes", "--stack", "test-pr-7"],
    ]);
  });

  test("a source stack file that is not there stops before init", () => {
    const r = runScript(["up", "x1", "--from", "nonexistent"], { stacks: [] });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([LS]);
    expect(r.stderr).toContain("no Pulumi.nonexistent.yaml here");
  });

  test("reuses an existing stack without init, and --from picks another source stack", () => {
    const r = runScript(["up", "pr-7"], { stacks: [{ name: "dev" }, { name: "test-pr-7" }] });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      LS,
      ["config", "set", "mailserver:protectData", "false", "--stack", "test-pr-7"],
      ["up", "--yes", "--stack", "test-pr-7"],
    ]);
    const from = runScript(["up", "x1", "--from", "dev"], { stacks: [] });
    expect(from.calls[1]).toEqual(["stack", "init", "test-x1", "--copy-config-from", "dev"]);
  });

  test("stops at the first failing pulumi call with its exit status", () => {
    const r = runScript(["up", "pr-7"], { stacks: [], fail: "init" });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([LS, ["stack", "init", "test-pr-7", "--copy-config-from", "dev"]]);
    expect(r.stderr).toContain("pulumi stack init test-pr-7 --copy-config-from dev failed (exit 1)");
  });
});

describe("destroy", () => {
  const deployed = { name: "test-pr-7", lastUpdate: hoursAgo(3) };

  test("from a clean checkout (CI's): the stack's config comes from its last update, then destroy, through npm run test-stack", () => {
    const checkout = cleanCheckout();
    const before = stackFiles(checkout);
    expect(before).not.toContain("Pulumi.test-pr-7.yaml");
    const r = runScript(["destroy", "pr-7"], { stacks: [{ name: "dev" }, deployed], viaNpm: true, cwd: checkout });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([LS, ...destroyCalls("test-pr-7", "test-pr-7")]);
    // --remove took the refreshed file away again: the checkout is as clean as before.
    expect(r.files).toEqual(before);
  });

  test("then deletes the snapshots its schedule took, found by the stack label (they outlive the disk)", () => {
    const r = runScript(["destroy", "pr-7"], { stacks: [deployed], snapshots: ["snap-a", "snap-b"], cwd: cleanCheckout() });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([LS, ...destroyCalls("test-pr-7", "test-pr-7"),
      ["gcloud", "compute", "snapshots", "delete", "--quiet", "--project", "proj", "snap-a", "snap-b"]]);
  });

  test("a stack never updated has no last config and no resources: stack rm only", () => {
    const r = runScript(["destroy", "pr-7"], { stacks: [{ name: "test-pr-7" }], cwd: cleanCheckout() });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([LS, ["stack", "rm", "--yes", "--stack", "test-pr-7"]]);
  });

  test("a stack that does not exist is not an error (a pull request without a test stack)", () => {
    const r = runScript(["destroy", "pr-8"], { stacks: [{ name: "dev" }] });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([LS]);
    expect(r.stdout).toContain("no stack test-pr-8");
  });

  test("a failed destroy fails the command", () => {
    const r = runScript(["destroy", "pr-7"], { stacks: [deployed], fail: "destroy", cwd: cleanCheckout() });
    expect(r.status).toBe(1);
  });
});

describe("the test namespace", () => {
  const stack = "test-pr-42";
  const set = (...a: string[]) => ["config", "set", ...a, "--stack", stack];

  test("every hosted domain, address in them, report and ACME address moves; dev's records, PTR and ACME production do not come along", () => {
    const calls = namespaceCalls({
      "mailserver:domain": "Example.com",
      "mailserver:hostname": "mx.example.com",
      "mailserver:extraDomains": [{ name: "example.org", zoneId: "z2" }],
      "mailserver:users": [{ address: "alice@example.com", password: { secure: "AAAA" } }, { address: "bob@example.org", passwordHash: "{ARGON2ID}x" }],
      "mailserver:aliases": [{ source: "team@example.org", destinations: ["alice@example.com", "out@elsewhere.net", "discard"] }],
      "mailserver:dmarcReportEmail": "dmarc@example.com",
      "mailserver:acmeEmail": "hostmaster@elsewhere.net",
      "mailserver:extraRecords": [{ zoneId: "z", name: "mg", type: "TXT", content: "x" }],
      "mailserver:ptr": true,
      "mailserver:acmeServer": "https://acme-v02.api.letsencrypt.org/directory",
    }, "pr-42", stack);
    expect(calls).toEqual([
      set("mailserver:domain", "pr-42.test.example.com"),
      set("mailserver:hostname", "mail.pr-42.test.example.com"),
      set("--path", "mailserver:extraDomains[0].name", "pr-42.test.example.org"),
      set("--path", "mailserver:users[0].address", "alice@pr-42.test.example.com"),
      set("--path", "mailserver:users[1].address", "bob@pr-42.test.example.org"),
      set("--path", "mailserver:aliases[0].source", "team@pr-42.test.example.org"),
      set("--path", "mailserver:aliases[0].destinations[0]", "alice@pr-42.test.example.com"),
      set("--path", "mailserver:dmarcReportEmail", "dmarc@pr-42.test.example.com"),
      ["config", "rm", "mailserver:extraRecords", "--stack", stack],
      set("mailserver:ptr", "false"),
      set("mailserver:acmeServer", "https://acme-staging-v02.api.letsencrypt.org/directory"),
    ]);
  });

  test("a custom ACME directory stays; a secret where an address must be read is refused", () => {
    expect(namespaceCalls({ "mailserver:domain": "a.org", "mailserver:acmeServer": "https://acme.internal/dir" }, "x", stack))
      .toEqual([set("mailserver:domain", "x.test.a.org"), set("mailserver:hostname", "mail.x.test.a.org")]);
    expect(() => namespaceCalls({ "mailserver:domain": "a.org", "mailserver:users": { secure: "AAAA" } }, "x", stack))
      .toThrow("mailserver:users of the source stack is not a plain list");
    expect(() => namespaceCalls({}, "x", stack)).toThrow("mailserver:domain of the source stack is missing");
  });
});

describe("gc", () => {
  const stacks = [
    { name: "dev", lastUpdate: hoursAgo(500) },
    { name: "prod", lastUpdate: hoursAgo(500) },
    { name: "test-old", lastUpdate: hoursAgo(49) },
    { name: "test-fresh", lastUpdate: hoursAgo(1) },
    { name: "test-busy", lastUpdate: hoursAgo(100), updateInProgress: true },
    { name: "test-never" },
    { name: "acme/mailserver/test-qualified", lastUpdate: hoursAgo(72) },
    { name: "testing-not-ours", lastUpdate: hoursAgo(500) },
  ];

  test("destroys only test stacks whose last update is older than the age, from a clean checkout", () => {
    const r = runScript(["gc", "--older-than", "48"], { stacks, cwd: cleanCheckout() });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      LS,
      ...destroyCalls("test-old", "test-old"),
      ...destroyCalls("acme/mailserver/test-qualified", "test-qualified"),
    ]);
  });

  test("keeps going past a failure and then exits non-zero", () => {
    const r = runScript(["gc", "--older-than", "48"], { stacks, fail: "test-old", cwd: cleanCheckout() });
    expect(r.status).toBe(1);
    expect(r.calls).toContainEqual(["config", "refresh", "--force", "--stack", "test-old"]);
    expect(r.calls.filter((c) => c[0] === "destroy").map((c) => c[4])).toEqual(["acme/mailserver/test-qualified"]);
    expect(r.stderr).toContain("could not destroy: test-old");
  });

  test("nothing old enough: only the listing", () => {
    const r = runScript(["gc", "--older-than", "200"], { stacks });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([LS]);
  });
});

describe("arguments", () => {
  test.each([
    [["up", "Foo"], "invalid name \"Foo\""],
    [["up", "a_b"], "invalid name"],
    [["destroy", "-x"], "invalid name"],
    [["destroy", "x--y"], "invalid name"],
    [["destroy", "../prod"], "invalid name"],
    [["up"], "missing <name>"],
    [["gc"], "--older-than <hours>"],
    [["gc", "--older-than", "-3"], "a positive number"],
    [["gc", "--older-than", "soon"], "a positive number"],
    [["up", "a", "b"], "unexpected argument"],
    [["rm", "a"], "unknown command \"rm\""],
  ])("%j is refused before pulumi runs", (args, message) => {
    const r = runScript(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.calls).toEqual([]);
  });

  test("without pulumi on PATH the error says so", () => {
    const r = runScript(["destroy", "pr-7"], { path: "/nonexistent" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot run pulumi");
  });

  test("pure helpers", () => {
    expect(testStackName("pr-42")).toBe("test-pr-42");
    expect(testStackName("test-pr-42")).toBe("test-pr-42");
    expect(() => testStackName("test-")).toThrow("invalid name");
    expect(parseArgs(["gc", "--older-than", "1.5"])).toEqual({ kind: "gc", olderThanHours: 1.5 });
    const now = new Date("2025-01-10T00:00:00Z");
    expect(expiredTestStacks([
      { name: "test-a", lastUpdate: "2025-01-09T00:00:00.000Z" },
      { name: "test-b", lastUpdate: "2025-01-09T12:00:00.000Z" },
      { name: "test-c", lastUpdate: "not a date" },
    ], 13, now)).toEqual(["test-a"]);
  });
});

describe("iap-tunnel", () => {
  const config = { "gcp:project": "p1", "gcp:zone": "europe-west1-b", "mailserver:sshViaIap": "true" };

  test("finds the stack's VM by its network tag and forwards 127.0.0.1:<iapTunnelPort> to its port 22", () => {
    const t = tunnelFor("test-pr-42", config);
    expect(t).toEqual({ project: "p1", zone: "europe-west1-b", tag: "mail-test-pr-42", port: 2222 });
    expect(listArgs(t)).toContain("--filter=tags.items=mail-test-pr-42");
    expect(tunnelArgs(t, "mail-vm-abc")).toEqual(["compute", "start-iap-tunnel", "mail-vm-abc", "22",
      "--local-host-port=127.0.0.1:2222", "--zone=europe-west1-b", "--project=p1"]);
    expect(tunnelFor("acme/mailserver/dev", { ...config, "mailserver:iapTunnelPort": 2201 })).toMatchObject({ tag: "mail-dev", port: 2201 });
  });

  test("refuses a stack that does not deploy through IAP", () => {
    expect(() => tunnelFor("dev", { "gcp:project": "p1", "gcp:zone": "europe-west1-b" })).toThrow("does not set mailserver:sshViaIap true");
  });
});
