// The abuse limits' rendered files judged by their own programs: fail2ban's configuration test on Debian's
// /etc/fail2ban with our jail and filter laid over it, fail2ban-regex of our jails' filters against real
// Postfix and Dovecot log lines (captured from the lab's journal, tests/fixtures/logs), and
// policyd-rate-limit itself, started on the rendered file and asked as Postfix asks it. Needs root (the
// daemon drops to its own user) and the Debian packages fail2ban python3-systemd policyd-rate-limit.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { renderConfigFiles } from "../../components/core/render";
import { fixtureRaw, renderedFile } from "../fixtures/config";
import { askPolicy, socketAccepts } from "../fixtures/policy";

const PROGRAMS = ["fail2ban-client", "fail2ban-regex", "policyd-rate-limit"];
const LOGS = join(__dirname, "..", "fixtures", "logs");

let work: string;
let files: RenderedFile[];
const file = (path: string): string => renderedFile(files, path).content;

/** Debian's /etc/fail2ban with our files laid over it, as the apply step builds its candidate. */
function fail2banTree(overrides: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(work, "fail2ban-"));
  cpSync("/etc/fail2ban", dir, { recursive: true });
  for (const f of files.filter((x) => x.path.startsWith("/etc/fail2ban/"))) {
    const target = join(dir, f.path.slice("/etc/fail2ban/".length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, overrides[f.path] ?? f.content);
  }
  return dir;
}

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" });

beforeAll(async () => {
  const missing = PROGRAMS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing programs: ${missing.join(", ")} — apt-get install fail2ban python3-systemd policyd-rate-limit`);
  work = mkdtempSync(join(tmpdir(), "mailserver-abuse-"));
  chmodSync(work, 0o755);
  files = await renderConfigFiles(parseConfig(fixtureRaw()));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("fail2ban", () => {
  test("its configuration test accepts our jails and filter on Debian's configuration", () => {
    const r = run("fail2ban-client", ["-c", fail2banTree(), "--test"]);
    expect(`${r.stdout}${r.stderr}`).toContain("OK: configuration test is successful");
    expect(r.status).toBe(0);
  });

  test("…and refuses a jail whose filter does not exist (control: the test can fail)", () => {
    const jail = "/etc/fail2ban/jail.d/mailserver.local";
    const r = run("fail2ban-client", ["-c", fail2banTree({ [jail]: file(jail).replace("filter = mailserver-dovecot-auth", "filter = no-such-filter") }), "--test"]);
    expect(r.status).not.toBe(0);
  });

  test("the jails are ours: the mail ports only, the journal, our thresholds, sshd off", () => {
    const r = run("fail2ban-client", ["-c", fail2banTree(), "-d"]);
    expect(r.status).toBe(0);
    const dump = r.stdout;
    expect(dump).not.toMatch(/\['add', 'sshd'/);
    for (const jail of ["postfix-sasl", "dovecot-auth"]) {
      expect(dump).toContain(`['add', '${jail}', 'systemd']`);
      expect(dump).toContain(`['set', '${jail}', 'maxretry', 5]`);
      expect(dump).toContain(`['set', '${jail}', 'bantime', '60m']`);
      expect(dump).toContain(`['set', '${jail}', 'addignoreip', '127.0.0.0/8', '198.51.100.0/24', '2001:db8:1::/48']`);
    }
    // Every ban action names exactly the mail ports (and ManageSieve): never 22.
    const ports = [...dump.matchAll(/\['port', '([^']*)'\]/g)].map((m) => m[1]);
    expect(ports).toEqual(["25,465,587,993,995,4190", "25,465,587,993,995,4190"]);
    expect(dump).toContain("'addjournalmatch', '_SYSTEMD_UNIT=postfix@-.service'");
    expect(dump).toContain("'addjournalmatch', '_SYSTEMD_UNIT=dovecot.service'");
  });

  // The fixtures hold what the lab's journal showed (journalctl -o short) while tests/e2e/abuse ran: from
  // 10.214.0.3 5 failed SMTP AUTHs, 5 failed IMAP logins and one of each for an unknown user, good logins
  // from 10.214.0.4 and 10.214.0.3, and Dovecot's address-less userdb lookups ("team@…: unknown user").
  /** The address of every line the filter matches (fail2ban-regex -o ip), counted per address. */
  const matched = (filter: string, log: string, dir: string): Record<string, number> => {
    const r = run("fail2ban-regex", ["-c", dir, "-o", "ip", join(LOGS, log), filter]);
    if (r.status !== 0) throw new Error(`fail2ban-regex failed:\n${r.stdout}\n${r.stderr}`);
    const hosts: Record<string, number> = {};
    for (const h of r.stdout.split("\n").map((l) => l.trim()).filter(Boolean)) hosts[h] = (hosts[h] ?? 0) + 1;
    return hosts;
  };

  test("postfix-sasl counts each failed SMTP AUTH once, for the address that failed", () => {
    const dir = fail2banTree();
    expect(matched("postfix[mode=auth]", "postfix-submission.log", dir)).toEqual({ "10.214.0.3": 6 });
  });

  test("dovecot-auth counts each failed password check once, IMAP and SMTP AUTH alike", () => {
    const dir = fail2banTree();
    expect(matched(join(dir, "filter.d", "mailserver-dovecot-auth.conf"), "dovecot.log", dir)).toEqual({ "10.214.0.3": 12 });
    // Why not Debian's dovecot filter: it also counts IMAP's disconnect line, so an IMAP attempt twice.
    expect(matched("dovecot", "dovecot.log", dir)).toEqual({ "10.214.0.3": 18 });
  });
});

describe("policyd-rate-limit", () => {
  let daemon: ReturnType<typeof spawn> | undefined;
  let socket: string;

  /** One policy request as Postfix's smtpd sends it at RCPT; the answer's action. */
  const ask = (sasl: string): Promise<string> => askPolicy(socket,
    { protocol_state: "RCPT", protocol_name: "ESMTP", client_address: "203.0.113.9", sasl_username: sasl, recipient: "x@example.net" });


  beforeAll(async () => {
    // The rendered file, with its paths moved into the work directory (nothing on the host is touched).
    const dir = join(work, "ratelimit");
    socket = join(dir, "sock", "policy");
    const conf = file("/etc/policyd-rate-limit.yaml")
      .replace("/run/policyd-rate-limit/policyd-rate-limit.pid", join(dir, "run", "pid"))
      .replace("/var/lib/policyd-rate-limit/db.sqlite3", join(dir, "db", "db.sqlite3"))
      .replace("/var/spool/postfix/ratelimit/policy", socket);
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, "conf.yaml"), conf);
    daemon = spawn("policyd-rate-limit", ["--file", join(dir, "conf.yaml")], { stdio: ["ignore", "ignore", "pipe"] });
    for (let i = 0; i < 100; i++) {
      if (await socketAccepts(socket)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("policyd-rate-limit did not open its socket");
  });
  afterAll(() => { daemon?.kill("SIGINT"); });

  test("it reads the rendered file: bob's own limit of 20, then 450 (defer_if_permit)", async () => {
    for (let i = 0; i < 20; i++) expect(await ask("bob@example.org")).toBe("action=dunno");
    expect(await ask("bob@example.org")).toBe("action=defer_if_permit Sending limit of your login reached (recipients per hour); try again later");
  });

  test("a login without limit (carol: 0) and one with the default (200) are not held back (control)", async () => {
    for (let i = 0; i < 25; i++) expect(await ask("carol@example.com")).toBe("action=dunno");
    for (let i = 0; i < 25; i++) expect(await ask("alice@example.com")).toBe("action=dunno");
  });

  test("the configured default: the 201st recipient within the hour is held back", async () => {
    for (let i = 25; i < 200; i++) await ask("alice@example.com");
    expect(await ask("alice@example.com")).toMatch(/^action=defer_if_permit /);
  });
});
