// The scripts that install the configuration on the server (mailserver-stage, mailserver-apply), run for
// real on the rendered files: modes and owners as the manifest says (secrets never world-readable), the
// daemons' own checks, idempotence, reloading only what changed, pruning what left the configuration.
// Runs in a private mount namespace: /etc and /var/lib are overlays, systemctl is a stub that records.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { applyManifest, shellQuote } from "../../components/core/provision";
import { renderFiles, TEMPLATE_DIR } from "../../components/core/render";
import { fixtureDkimKeys, fixtureRaw } from "../fixtures/config";

const STAGE = join(TEMPLATE_DIR, "provision", "mailserver-stage.sh");
const APPLY = join(TEMPLATE_DIR, "provision", "mailserver-apply.sh");

// systemctl stand-in: a unit is active once started; every call is logged.
const SYSTEMCTL = `#!/bin/sh
echo "$*" >> "$WORK/systemctl.log"
case "$1" in
  is-active) [ -f "$WORK/active-$3" ] ;;
  start) touch "$WORK/active-$2" ;;
  *) true ;;
esac
`;

// The two milter ports the apply waits for once it has started the milters (systemctl is a stub here).
const MILTER_STAND_INS = [
  "import socket, time",
  "socks = [socket.create_server(('127.0.0.1', p)) for p in (8891, 11332)]",
  "time.sleep(600)",
].join("\n");

interface Round {
  /** What mailserver-apply printed. */
  out: string;
  rc: number;
  /** systemctl calls other than is-active. */
  actions: string[];
  /** path → "mode owner group" as installed, for every file of the manifest (and pruned ones, if left). */
  installed: Record<string, string>;
}

let work: string;
let files: RenderedFile[];
const rounds: Round[] = [];

/** One shell step per round: stage the given files, run the apply with their manifest, record the result. */
function roundScript(n: number, set: RenderedFile[], watch: string[]): string {
  const dir = join(work, `round-${n}`);
  mkdirSync(dir, { recursive: true });
  set.forEach((f, i) => writeFileSync(join(dir, `file-${i}`), f.content));
  writeFileSync(join(dir, "manifest"), applyManifest(set));
  return [
    `: > "$WORK/systemctl.log"`,
    ...set.map((f, i) => `bash ${shellQuote(STAGE)} ${[f.path, f.mode, f.owner, f.group].map(shellQuote).join(" ")} < ${shellQuote(join(dir, `file-${i}`))} > /dev/null`),
    `set +e; bash ${shellQuote(APPLY)} < ${shellQuote(join(dir, "manifest"))} > ${shellQuote(join(dir, "out"))} 2>&1; echo $? > ${shellQuote(join(dir, "rc"))}; set -e`,
    `grep -v '^is-active' "$WORK/systemctl.log" > ${shellQuote(join(dir, "actions"))} || true`,
    ...watch.map((p) => `stat -c '%n %a %U %G' ${shellQuote(p)} >> ${shellQuote(join(dir, "installed"))} 2>/dev/null || true`),
  ].join("\n");
}

function readRound(n: number): Round {
  const dir = join(work, `round-${n}`);
  const read = (f: string) => { try { return readFileSync(join(dir, f), "utf8"); } catch { return ""; } };
  const installed: Record<string, string> = {};
  for (const line of read("installed").split("\n").filter(Boolean)) {
    const [path, ...rest] = line.split(" ");
    installed[path] = rest.join(" ");
  }
  return { out: read("out"), rc: Number(read("rc")), actions: read("actions").split("\n").filter(Boolean), installed };
}

const expected = (f: Pick<RenderedFile, "mode" | "owner" | "group">) => `${f.mode.replace(/^0/, "")} ${f.owner} ${f.group}`;
const worldReadable = (r: Round) => Object.entries(r.installed).filter(([, m]) => Number.parseInt(m.split(" ")[0], 8) & 0o004).map(([p]) => p);
const secretPaths = () => files.filter((f) => f.secret).flatMap((f) => [f.path, ...(f.rebuild === "postmap" ? [`${f.path}.db`] : [])]);

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root (mount namespaces, file owners)");
  work = mkdtempSync(join(tmpdir(), "apply-"));
  chmodSync(work, 0o755);
  files = await renderFiles({ config: parseConfig(fixtureRaw()), dkimPrivateKeys: fixtureDkimKeys() });
  mkdirSync(join(work, "bin"));
  writeFileSync(join(work, "bin", "systemctl"), SYSTEMCTL, { mode: 0o755 });

  const watch = [...files.map((f) => f.path), ...files.filter((f) => f.rebuild === "postmap").map((f) => `${f.path}.db`)];
  const mainCf = files.find((f) => f.path === "/etc/postfix/main.cf");
  if (!mainCf) throw new Error("no main.cf rendered");
  const changedMain = files.map((f) => (f === mainCf ? { ...f, content: `${f.content}# a changed comment\n` } : f));
  const droppedKey = changedMain.filter((f) => f.path !== "/etc/opendkim/keys/example.org/s1.private");
  const leakyKey = droppedKey.map((f) => (f.path === "/etc/postfix/sasl_passwd" ? { ...f, mode: "0644" } : f));
  // A web server configuration nginx refuses (a directive it does not know), beside a changed main.cf.
  const brokenNginx = leakyKey.map((f) => (f.path === "/etc/nginx/nginx.conf"
    ? { ...f, content: f.content.replace("server_tokens off;", "server_tokens off;\n  serve_everything on;") }
    : f.path === mainCf.path ? { ...f, content: `${f.content}# changed again\n` } : f));

  const script = [
    "set -eu",
    `WORK=${shellQuote(work)}; export WORK; export PATH="$WORK/bin:$PATH"`,
    'overlay() { u="$WORK/ov$(echo "$1" | tr / _)"; mkdir -p "$u/up" "$u/wk"; chown --reference="$1" "$u/up"; chmod --reference="$1" "$u/up"; mount -t overlay overlay -o "lowerdir=$1,upperdir=$u/up,workdir=$u/wk" "$1"; }',
    // Its own network: the milters the apply waits for after starting them are stand-ins listening here.
    "ip link set lo up",
    `python3 -c ${shellQuote(MILTER_STAND_INS)} >/dev/null 2>&1 & MILTERS=$!`,
    "overlay /etc",
    "overlay /var/lib",
    "mkdir -p /var/lib/mailserver/staged /etc/mailserver/tls",
    // A throwaway certificate where provisioning puts the real one: doveconf reads it.
    "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mail.example.com -days 2 " +
      "-keyout /etc/mailserver/tls/privkey.pem -out /etc/mailserver/tls/fullchain.pem 2>/dev/null",
    roundScript(0, files, watch),
    roundScript(1, files, watch),
    roundScript(2, changedMain, watch),
    roundScript(3, droppedKey, watch),
    roundScript(4, leakyKey, watch),
    roundScript(5, brokenNginx, watch),
    'kill "$MILTERS"',
  ].join("\n");
  writeFileSync(join(work, "rounds.sh"), `${script}\n`);
  const r = spawnSync("unshare", ["--mount", "--net", "--propagation", "private", "bash", join(work, "rounds.sh")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the namespace run failed (${r.status}): ${r.stderr}`);
  for (let n = 0; n <= 5; n++) rounds.push(readRound(n));
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("first apply: every file installed with the manifest's mode and owner, the daemons started", () => {
  const [first] = rounds;
  expect({ rc: first.rc, out: first.out }).toEqual({ rc: 0, out: expect.stringContaining("installed /etc/postfix/main.cf") });
  for (const f of files) expect({ path: f.path, got: first.installed[f.path] }).toEqual({ path: f.path, got: expected(f) });
  expect(first.actions).toEqual(["start opendkim", "start rspamd", "start policyd-rate-limit", "start dovecot", "start postfix",
    "start nginx", "start fail2ban"]);
});

test("secrets are never world-readable, their postmap .db included", () => {
  const [first] = rounds;
  expect(worldReadable(first).filter((p) => secretPaths().includes(p))).toEqual([]);
  expect(first.installed["/etc/postfix/sasl_passwd.db"]).toBe("600 root root");
  // Control: a manifest that stages the relay password 0644 is installed as such, and this check sees it.
  expect({ out: rounds[4].out, readable: worldReadable(rounds[4]) }).toEqual({
    out: expect.stringContaining("installed /etc/postfix/sasl_passwd"), readable: expect.arrayContaining(["/etc/postfix/sasl_passwd"]) });
});

test("a second apply with nothing changed installs nothing and reloads nothing", () => {
  const second = rounds[1];
  expect(second.rc).toBe(0);
  expect(second.out.trim()).toBe("apply: no change");
  expect(second.actions).toEqual([]);
});

test("one changed file: only it is installed, only its daemon reloaded", () => {
  const third = rounds[2];
  expect(third.rc).toBe(0);
  expect(third.out.split("\n").filter((l) => l.startsWith("installed "))).toEqual(["installed /etc/postfix/main.cf"]);
  expect(third.actions).toEqual(["reload postfix"]);
});

test("a file that left the configuration is removed, and its daemon reloaded", () => {
  const fourth = rounds[3];
  expect(fourth.rc).toBe(0);
  expect(fourth.out).toContain("removed /etc/opendkim/keys/example.org/s1.private");
  expect(fourth.installed["/etc/opendkim/keys/example.org/s1.private"]).toBeUndefined();
  expect(fourth.actions).toEqual(["reload opendkim"]);
});

test("a web server configuration nginx -t refuses installs nothing, not even the other changed files", () => {
  const sixth = rounds[5];
  expect(sixth.rc).not.toBe(0);
  expect(sixth.out).toContain("configuration refused, live files unchanged: nginx -t");
  expect(sixth.out).toContain("serve_everything");
  expect(sixth.out).not.toContain("installed ");
  expect(sixth.actions).toEqual([]);
});
