// The per-login sending limit against the policyd-rate-limit each release runs, asked as Postfix asks it: Debian 12's
// 1.0.1 (the host's package) on the file rendered for 12, Debian 13's 1.2 (the lab's trixie root, lab/release-root.ts)
// on the file rendered for 13, and 1.2 on 12's file as the control (the RCPT-stage setup 13 must not keep).
// Postfix's side, from its source (postfix 3.10.13, src/smtpd): smtpd.c:3207-3209 counts a recipient (rcpt_count)
// only once every restriction accepted it; smtpd_check.c:4080-4082 and 4099-4103 send protocol_state=DATA (BDAT too)
// with recipient_count=rcpt_count at DATA; a refused RCPT is not sent, the accepted ones are (defer_if_permit refuses
// only the recipient it answers). Needs root: 1.2 runs chrooted in mount and network namespaces of its own; the daemons drop
// to their user.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import { renderConfigFiles } from "../../components/core/render";
import { ensureReleaseRoot } from "../../lab/release-root";
import { fixtureRaw, renderedFile } from "../fixtures/config";
import { askPolicy, socketAccepts } from "../fixtures/policy";

// bob@example.org's own limit in the fixture.
const BOB = "bob@example.org";
const LIMIT = 20;
const REFUSED = "action=defer_if_permit Sending limit of your login reached (recipients per hour); try again later";

/** Runs the chroot's policyd-rate-limit on /work/conf.yaml: the release root under an overlay, /work bound to the host
 * (its socket is reached there: a path socket is not bound to the network namespace). */
const OUTER = `set -eu
R=$1; W=$2; M="$W/merged"
mkdir -p "$W/up" "$W/wk" "$M"
mount -t overlay overlay -o "lowerdir=$R,upperdir=$W/up,workdir=$W/wk" "$M"
mount -t proc proc "$M/proc"
mount -t tmpfs -o mode=0755 tmpfs "$M/dev"
for d in null zero random urandom; do touch "$M/dev/$d"; mount --bind "/dev/$d" "$M/dev/$d"; done
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
mkdir -p "$M/work"; mount --bind "$W/in" "$M/work"
exec chroot "$M" policyd-rate-limit --file /work/conf.yaml
`;

interface Daemon {
  socket: string;
  db: string;
  child: ChildProcess;
  stderr: () => string;
}

let work: string;
const daemons: Daemon[] = [];

/**
 * Starts policyd-rate-limit on `yaml` (rendered), its paths moved under `dir`: on the host, or chrooted into `root`
 * where `dir` is /work. Resolves once its socket answers.
 */
async function start(yaml: string, name: string, root?: string): Promise<Daemon> {
  const outside = join(work, name);
  const inside = root ? join(outside, "in") : outside;
  mkdirSync(inside, { recursive: true, mode: 0o755 });
  chmodSync(outside, 0o755);
  const base = root ? "/work" : inside;
  const conf = yaml
    .replace("/run/policyd-rate-limit/policyd-rate-limit.pid", join(base, "run", "pid"))
    .replace("/var/lib/policyd-rate-limit/db.sqlite3", join(base, "db", "db.sqlite3"))
    .replace("/var/spool/postfix/ratelimit/policy", join(base, "sock", "policy"));
  writeFileSync(join(inside, "conf.yaml"), conf);
  let child: ChildProcess;
  if (root) {
    writeFileSync(join(outside, "outer.sh"), OUTER);
    // No pid namespace (it would need --fork): unshare, sh and chroot exec, so the child is the daemon, and SIGINT ends it.
    child = spawn("unshare", ["--mount", "--net", "--propagation", "private",
      "sh", join(outside, "outer.sh"), root, outside], { stdio: ["ignore", "ignore", "pipe"] });
  } else {
    child = spawn("policyd-rate-limit", ["--file", join(inside, "conf.yaml")], { stdio: ["ignore", "ignore", "pipe"] });
  }
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { err += d; });
  const d: Daemon = { socket: join(inside, "sock", "policy"), db: join(inside, "db", "db.sqlite3"), child, stderr: () => err };
  daemons.push(d);
  for (let i = 0; i < 150; i++) {
    if (await socketAccepts(d.socket)) return d;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`policyd-rate-limit (${name}) did not open its socket:\n${err}`);
}

/** One policy request as Postfix's smtpd sends it; the answer's action line. */
const ask = (d: Daemon, attrs: Record<string, string | number>): Promise<string> =>
  askPolicy(d.socket, { protocol_name: "ESMTP", client_address: "203.0.113.9", sasl_username: BOB, sender: BOB, ...attrs });

/**
 * One transaction under the RCPT-stage setup (Debian 12's main.cf): a policy request per recipient, all with the
 * transaction's queue id (instance); returns how many Postfix accepts, and so sends (the refused ones get 450).
 */
async function rcptTransaction(d: Daemon, instance: string, recipients: number): Promise<{ accepted: number; refused: number }> {
  let accepted = 0;
  for (let i = 0; i < recipients; i++) {
    const a = await ask(d, { protocol_state: "RCPT", instance, recipient: `r${i}@example.net`, recipient_count: 0 });
    if (a === "action=dunno") accepted++;
    else expect(a).toBe(REFUSED);
  }
  return { accepted, refused: recipients - accepted };
}

/** One message under the DATA-stage setup (Debian 13's main.cf): one request with Postfix's count of accepted recipients. */
const dataRequest = (d: Daemon, instance: string, recipients: number) =>
  ask(d, { protocol_state: "DATA", instance, recipient: recipients === 1 ? "r0@example.net" : "", recipient_count: recipients });

/** What the daemon counts against bob this hour, read from its sqlite database (1.0: a row each; 1.2: recipient_count). */
function counted(d: Daemon): number {
  const r = spawnSync("python3", ["-c", [
    "import sqlite3, sys", "c = sqlite3.connect(sys.argv[1])",
    "cols = [x[1] for x in c.execute('PRAGMA table_info(mail_count)')]",
    "q = 'SUM(recipient_count)' if 'recipient_count' in cols else 'COUNT(*)'",
    "print(c.execute('SELECT COALESCE(' + q + ', 0) FROM mail_count WHERE id = ?', (sys.argv[2],)).fetchone()[0])"].join("\n"),
  d.db, BOB], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`reading ${d.db}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const yamlFor = async (image: string) =>
  renderedFile(await renderConfigFiles(parseConfig(fixtureRaw({ "mailserver:image": image }))), "/etc/policyd-rate-limit.yaml").content;

let root: string;
let yaml12: string;
let yaml13: string;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root: policyd-rate-limit drops to its own user, 1.2 runs chrooted");
  if (spawnSync("sh", ["-c", "command -v policyd-rate-limit"]).status !== 0) throw new Error("missing policyd-rate-limit — apt-get install policyd-rate-limit");
  work = mkdtempSync(join(tmpdir(), "mailserver-send-limit-"));
  chmodSync(work, 0o755);
  [root, yaml12, yaml13] = await Promise.all([ensureReleaseRoot(13), yamlFor("debian-cloud/debian-12"), yamlFor("debian-cloud/debian-13")]);
}, 30 * 60 * 1000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => new Promise((r) => { if (d.child.exitCode !== null) r(null); d.child.on("exit", r); d.child.kill("SIGINT"); })));
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the versions: Debian 12's policyd-rate-limit 1.0.1 on the host, 1.2 in the Debian 13 root", () => {
  const v = (args: string[]) => spawnSync(args[0], args.slice(1), { encoding: "utf8" }).stdout.trim();
  expect(v(["dpkg-query", "-W", "-f", "${Version}", "policyd-rate-limit"])).toMatch(/^1\.0\.1/);
  expect(v(["chroot", root, "dpkg-query", "-W", "-f", "${Version}", "policyd-rate-limit"])).toMatch(/^1\.2\./);
  expect(yaml13).toMatch(/^count_mode: 1$/m);
  expect(yaml12).not.toMatch(/count_mode/);
});

describe("Debian 13: policyd-rate-limit 1.2 on 13's file (count_mode 1, asked at DATA)", () => {
  let d: Daemon;
  beforeAll(async () => { d = await start(yaml13, "trixie", root); });

  test("a message that would cross the limit is refused whole, and again when repeated; what passes is all counted", async () => {
    expect(await dataRequest(d, "A1", 15)).toBe("action=dunno");
    expect(counted(d)).toBe(15);
    // 15 + 10 > 20: none of the 10 leaves, and the refusal forgets nothing.
    expect(await dataRequest(d, "B2", 10)).toBe(REFUSED);
    expect(counted(d)).toBe(15);
    for (const instance of ["B2", "C3", "D4"]) expect(await dataRequest(d, instance, 10)).toBe(REFUSED);
    expect(counted(d)).toBe(15);
    // Up to the limit exactly, then nothing more this hour.
    expect(await dataRequest(d, "E5", 5)).toBe("action=dunno");
    expect(counted(d)).toBe(LIMIT);
    expect(await dataRequest(d, "F6", 1)).toBe(REFUSED);
    expect(counted(d)).toBe(LIMIT);
  });

  test("it ignores RCPT requests in this mode (answers dunno, counts nothing): why main.cf asks it at DATA on 13", async () => {
    const before = counted(d);
    expect(await rcptTransaction(d, "G7", 30)).toEqual({ accepted: 30, refused: 0 });
    expect(counted(d)).toBe(before);
  });
});

describe("control: policyd-rate-limit 1.2 on 12's file (RCPT stage, its deprecated count_mode 0)", () => {
  test("a refused recipient wipes its transaction's counts: 2 × 20 recipients leave under a limit of 20, and so on without end", async () => {
    const d = await start(yaml12, "trixie-rcpt", root);
    expect(await rcptTransaction(d, "A1", LIMIT + 1)).toEqual({ accepted: LIMIT, refused: 1 });
    expect(counted(d)).toBe(0);
    expect(await rcptTransaction(d, "B2", LIMIT + 1)).toEqual({ accepted: LIMIT, refused: 1 });
    expect(counted(d)).toBe(0);
    expect(d.stderr()).toMatch(/'count_mode' parameter is set to 0\. This is DEPRECATED/);
  });
});

describe("Debian 12: policyd-rate-limit 1.0.1 on 12's file (RCPT stage)", () => {
  let d: Daemon;
  beforeAll(async () => { d = await start(yaml12, "bookworm"); });

  test("a refused recipient forgets nothing: the next transaction's first recipient is refused", async () => {
    expect(await rcptTransaction(d, "A1", LIMIT + 1)).toEqual({ accepted: LIMIT, refused: 1 });
    expect(counted(d)).toBe(LIMIT);
    expect(await rcptTransaction(d, "B2", 5)).toEqual({ accepted: 0, refused: 5 });
    expect(counted(d)).toBe(LIMIT);
  });

  test("1.0.1 does not look at DATA (answers dunno, counts nothing): why 12 keeps it at RCPT", async () => {
    expect(await dataRequest(d, "C3", 30)).toBe("action=dunno");
    expect(counted(d)).toBe(LIMIT);
  });
});
