// Debian 13's own daemons judge the files rendered for Debian 13 (mailserver:image debian-cloud/debian-13):
// Postfix 3.10 (postfix check, postconf), Dovecot 2.4 (doveconf, doveadm pw, then the daemon itself: a TLS
// IMAP login with quota, and the auth log fail2ban reads), OpenDKIM 2.11, rspamd 3.12, nginx 1.26, Pigeonhole's
// sievec and fail2ban 1.1's fail2ban-regex. They run in a trixie root filesystem made by the lab's own
// debootstrap (lab/release-root.ts, cached under /var/cache/mailserver-lab: minutes the first
// time, then reused) under an overlay, in namespaces of their own (mount, network, pid): nothing on the host
// changes and nothing listens outside. Each check also runs on a broken tree and must fail there.
// Needs root, debootstrap and network access to deb.debian.org the first time.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { renderFiles } from "../../components/core/render";
import { run } from "../../lab/proc";
import { writeTree } from "../../scripts/render";
import { FIXTURE_PASSWORDS, fixtureDkimKeys, fixtureRaw, renderedFile } from "../fixtures/config";
import { ensureReleaseRoot } from "../../lab/release-root";

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
const ALICE = "alice@example.com";

/**
 * Every parameter whose default changed between Debian 12's Postfix (3.7.11) and 13's (3.10.13), by `postconf -d` of
 * each, that decides how this server behaves (the others: logging, new features we leave off, TLS curve order).
 */
const CHANGED_DEFAULTS = ["milter_default_action", "smtpd_forbid_bare_newline", "smtpd_forbid_unauth_pipelining", "tls_medium_cipherlist"];

interface Result { rc: number; out: string; err: string }
type Results = Record<string, Result>;

/** Mounts the release root under an overlay with a private /dev, /run and loopback, then runs checks.sh chrooted. */
const OUTER = `set -eu
R=$1; W=$2; M="$W/merged"
mkdir -p "$W/up" "$W/wk" "$M"
mount -t overlay overlay -o "lowerdir=$R,upperdir=$W/up,workdir=$W/wk" "$M"
mount -t proc proc "$M/proc"
# A /dev of its own: Dovecot's syslog socket (/dev/log) must be ours, not the host's journal.
mount -t tmpfs -o mode=0755 tmpfs "$M/dev"
for d in null zero random urandom tty; do touch "$M/dev/$d"; mount --bind "/dev/$d" "$M/dev/$d"; done
mkdir "$M/dev/pts" "$M/dev/shm"; mount -t devpts -o newinstance,ptmxmode=0666 devpts "$M/dev/pts"; ln -s pts/ptmx "$M/dev/ptmx"
mount -t tmpfs tmpfs "$M/dev/shm"; mount -t tmpfs -o mode=0755 tmpfs "$M/run"
ip link set lo up
cp -a "$W/tree/etc/." "$M/etc/"
mkdir "$M/work"; mount --bind "$W/in" "$M/work"
chroot "$M" /bin/sh /work/checks.sh
`;

/** What a syslog daemon would write: "<time> <host> dovecot[pid]: message", as fail2ban reads it from the journal. */
const SYSLOG = `import re, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("/dev/log")
with open(sys.argv[1], "a", buffering=1) as out:
    while True:
        m = re.match(r"<\\d+>(\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d) (.*)", s.recv(65536).decode("utf-8", "replace").rstrip("\\n"), re.S)
        if m: out.write(f"{m.group(1)} vm {m.group(2)}\\n")
`;

function checks(files: RenderedFile[], dir: string): string {
  const users = renderedFile(files, "/etc/dovecot/users").content;
  const lines = [
    "set -eu",
    'RES=/work/results; mkdir -p "$RES"',
    'run() { n=$1; shift; set +e; "$@" >"$RES/$n.out" 2>"$RES/$n.err" </dev/null; echo $? >"$RES/$n.rc"; set -e; }',
    'runin() { n=$1; i=$2; shift 2; set +e; "$@" >"$RES/$n.out" 2>"$RES/$n.err" <"$i"; echo $? >"$RES/$n.rc"; set -e; }',
    "mkdir -p /etc/mailserver/tls",
    "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mail.example.com -days 2 " +
      "-keyout /etc/mailserver/tls/privkey.pem -out /etc/mailserver/tls/fullchain.pem 2>/dev/null",
    // As provisioning makes them: the vmail account and the mail home on the data disk.
    "groupadd --gid 5000 vmail && useradd --uid 5000 --gid vmail --home-dir /srv/mail/vmail --no-create-home --shell /usr/sbin/nologin vmail",
    "install -d -o vmail -g vmail -m 0750 /srv/mail/vmail",
    ...files.flatMap((f) => [`chown ${f.owner}:${f.group} ${f.path}`, `chmod ${f.mode} ${f.path}`]),
    ...files.filter((f) => f.rebuild === "postmap").map((f) => `run ${q(`postmap-${f.path.split("/").pop()}`)} postmap ${f.path}`),
    "run newaliases newaliases",
    // postfix-script prints its warnings only to a terminal. Its first run fills Postfix's chroot (/var/spool/
    // postfix/etc), as the VM's first start does, and says so: the second must have nothing to say.
    'script -qec "postfix check" /dev/null >/dev/null',
    'run postfix-check script -qec "postfix check" /dev/null',
    "run postconf-n postconf -n",
    "run postconf-M postconf -M",
    "run postconf-tls-required postconf -h tls_required_enable",
    // Defaults that changed from Debian 12's Postfix 3.7.11 to 13's 3.10 (docs/development.md): 3.10's default, then ours.
    `run postconf-d-changed postconf -d ${CHANGED_DEFAULTS.join(" ")}`,
    `run postconf-changed postconf ${CHANGED_DEFAULTS.join(" ")}`,
    "run postconf-version postconf -h mail_version",
    // The sending limit at DATA (policyd-rate-limit 1.2): what 3.10 reads for each submission service.
    "run postconf-P postconf -P",
    "run postconf-mua-data postconf -xh mua_data_restrictions",
    "run postconf-mua-rcpt postconf -xh mua_recipient_restrictions",
    "run doveconf doveconf -n",
    "run opendkim-n opendkim -n",
    "run rspamadm-configtest rspamadm configtest",
    ...["actions", "options", "milter_headers", "dkim_signing", "classifier"].map((m) => `run rspamadm-${m} rspamadm configdump ${m}`),
    "run nginx-t nginx -t -q -c /etc/nginx/nginx.conf",
    ...files.filter((f) => f.rebuild === "sievec")
      .map((f) => `run ${q(`sievec-${f.path.split("/").pop()}`)} sievec ${f.path} /tmp/${f.path.split("/").pop()}.svbin`),
    // Dovecot itself, logging to syslog as on the VM.
    "python3 /work/syslog.py /work/syslog &",
    "for i in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done",
    "run dovecot-start dovecot",
    "for i in $(seq 100); do [ -S /run/dovecot/auth-client ] && break; sleep 0.1; done",
    `run doveadm-user doveadm user ${ALICE}`,
    // alice's mailbox (1 MB) made full behind Dovecot's back: a delivery is refused, and the quota warning,
    // what Dovecot runs when a mailbox crosses a level, still arrives (its dovecot-lda -o must be 2.4's).
    `M=/srv/mail/vmail/example.com/alice/Maildir; install -d -o vmail -g vmail "$M" "$M/new" "$M/cur" "$M/tmp"`,
    `{ printf 'From: a@b.example\nSubject: big\n\n'; head -c 1200000 /dev/zero | tr '\\0' x | fold -w 76; } > "$M/new/1.big"`,
    `chown vmail:vmail "$M/new/1.big"`,
    `run quota-recalc doveadm quota recalc -u ${ALICE}`,
    "printf 'From: a@b.example\\nSubject: small\\n\\nx\\n' > /tmp/small.eml",
    `runin lda-over-quota /tmp/small.eml setpriv --reuid vmail --regid vmail --clear-groups /usr/lib/dovecot/dovecot-lda -d ${ALICE}`,
    `run quota-warning setpriv --reuid vmail --regid vmail --clear-groups /etc/dovecot/quota-warning.sh 90 ${ALICE}`,
    // Passwords reach the programs on stdin, never on a command line.
    "runin imap-login /work/imap-session timeout 20 openssl s_client -quiet -connect 127.0.0.1:993",
    // A wrong password through imap-login: its log line carries the login's session id.
    "runin imap-wrong /work/imap-wrong timeout 20 openssl s_client -quiet -connect 127.0.0.1:993",
    `run auth-wrong doveadm auth test -x service=imap -x rip=192.0.2.7 ${ALICE} wrong-password`,
    "run auth-unknown doveadm auth test -x service=imap -x rip=192.0.2.8 nobody@example.com wrong-password",
    "sleep 1",
    "run fail2ban-regex fail2ban-regex /work/syslog /etc/fail2ban/filter.d/mailserver-dovecot-auth.conf",
    "run fail2ban-dump fail2ban-client -d",
    "run dovecot-stop dovecot stop",
  ];
  users.split("\n").filter(Boolean).forEach((line, i) => {
    const [address, hash] = line.split(":");
    writeFileSync(join(dir, `pw-${i}`), `${FIXTURE_PASSWORDS[address]}\n`, { mode: 0o600 });
    lines.push(`runin pw-${i} /work/pw-${i} doveadm pw -t ${q(hash)}`);
  });
  writeFileSync(join(dir, "imap-session"),
    `a LOGIN ${ALICE} "${FIXTURE_PASSWORDS[ALICE]}"\r\nb GETQUOTAROOT INBOX\r\nc SELECT INBOX\r\nd FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\ne LOGOUT\r\n`, { mode: 0o600 });
  writeFileSync(join(dir, "imap-wrong"), `a LOGIN ${ALICE} "wrong-password"\r\nb LOGOUT\r\n`, { mode: 0o600 });
  writeFileSync(join(dir, "syslog.py"), SYSLOG);
  return `${lines.join("\n")}\n`;
}

/** Runs every check on `files` in the release root; returns each check's exit status and output. */
async function judge(root: string, files: RenderedFile[], work: string): Promise<Results> {
  mkdirSync(work);
  const inside = join(work, "in");
  mkdirSync(inside);
  chmodSync(inside, 0o755);
  writeTree(files, join(work, "tree"));
  writeFileSync(join(inside, "checks.sh"), checks(files, inside));
  writeFileSync(join(work, "outer.sh"), OUTER);
  await run("unshare", ["--mount", "--net", "--pid", "--fork", "--propagation", "private", "sh", join(work, "outer.sh"), root, work]);
  const dir = join(inside, "results");
  const names = readdirSync(dir).filter((n) => n.endsWith(".rc")).map((n) => n.slice(0, -3));
  const read = (n: string, ext: string) => readFileSync(join(dir, `${n}.${ext}`), "utf8");
  return Object.fromEntries(names.map((n) => [n, { rc: Number(read(n, "rc")), out: read(n, "out"), err: read(n, "err") }]));
}

/** One mistake per file, each of which its own program must catch. */
function broken(good: RenderedFile[], debian12: RenderedFile[]): RenderedFile[] {
  const mistakes: Record<string, (content: string) => string> = {
    // Dovecot 2.3's language (what Debian 12 gets) is not 2.4's.
    "/etc/dovecot/dovecot.conf": () => renderedFile(debian12, "/etc/dovecot/dovecot.conf").content,
    "/etc/postfix/main.cf": (c) => `${c}smtpd_tls_no_such_parameter = yes\n`,
    // A continuation line: an -o for the last service.
    "/etc/postfix/master.cf": (c) => `${c}  -o smtpd_no_such_service_parameter=yes\n`,
    "/etc/opendkim.conf": (c) => `${c}NoSuchOpenDKIMOption yes\n`,
    "/etc/rspamd/local.d/actions.conf": (c) => `${c}reject = {\n`,
    "/etc/nginx/nginx.conf": (c) => `${c}no_such_directive on;\n`,
    "/etc/dovecot/sieve/junk.sieve": (c) => `${c}no_such_command;\n`,
    // Debian 12's filter: Dovecot 2.3's log format, which 2.4 no longer writes.
    "/etc/fail2ban/filter.d/mailserver-dovecot-auth.conf": () =>
      renderedFile(debian12, "/etc/fail2ban/filter.d/mailserver-dovecot-auth.conf").content,
  };
  return good.map((f) => (mistakes[f.path] ? { ...f, content: mistakes[f.path](f.content) } : f));
}

// 1 MB mailboxes: a full one is quick to make.
const render = (image: string) => renderFiles({
  config: parseConfig(fixtureRaw({ "mailserver:image": image, "mailserver:mailboxQuotaMb": "1" })), dkimPrivateKeys: fixtureDkimKeys(),
});

let work: string;
let files13: RenderedFile[];
let files12: RenderedFile[];
let ok: Results;
let bad: Results;
const get = (results: Results, name: string): Result => {
  const r = results[name];
  if (!r) throw new Error(`check ${name} did not run`);
  return r;
};

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root: the checks need mount, network and pid namespaces");
  const started = Date.now();
  const root = await ensureReleaseRoot(13);
  const built = Date.now();
  work = mkdtempSync(join(tmpdir(), "trixie-daemons-"));
  const [files, debian12] = await Promise.all([render("debian-cloud/debian-13"), render("debian-cloud/debian-12")]);
  [files13, files12] = [files, debian12];
  [ok, bad] = await Promise.all([judge(root, files, join(work, "good")), judge(root, broken(files, debian12), join(work, "broken"))]);
  console.log(`Debian 13 root ${root}: ${((built - started) / 1000).toFixed(1)} s; checks ${((Date.now() - built) / 1000).toFixed(1)} s`);
}, 30 * 60 * 1000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the root is Debian 13 with the daemon versions the VM gets", () => {
  expect(get(ok, "doveconf").out).toMatch(/^# 2\.4\.\d/);
  expect(get(ok, "doveconf").out).toMatch(/OS: Linux \S+ \S+ Debian 13/);
});

test("Postfix 3.10: postmap, newaliases, postfix check and postconf without a warning; RFC 8689's downgrade header off", () => {
  const quiet = Object.keys(ok).filter((n) => n.startsWith("postmap-") || ["newaliases", "postfix-check"].includes(n));
  expect(quiet).toHaveLength(9);
  for (const n of quiet) expect({ n, ...get(ok, n) }).toEqual({ n, rc: 0, out: "", err: "" });
  for (const n of ["postconf-n", "postconf-M"]) expect({ n, rc: get(ok, n).rc, err: get(ok, n).err }).toEqual({ n, rc: 0, err: "" });
  expect(get(ok, "postconf-tls-required").out).toBe("no\n");
});

test("Postfix 3.10 asks the sending limit at DATA on 587, 465 and the Sieve lane, after the own-mailbox classes", () => {
  const services = get(ok, "postconf-P").out.split("\n").filter((l) => l.includes("/smtpd_data_restrictions = "));
  expect(services.map((l) => l.split("/")[0]).sort()).toEqual(["127.0.0.1:10588", "submission", "submissions"]);
  for (const l of services) expect(l).toMatch(/ = \$mua_data_restrictions$/);
  expect(get(ok, "postconf-mua-data").out.trim().split(/,\s*(?=[a-z_]+ |[a-z_]+$)/)).toEqual(["reject_unauth_pipelining",
    "check_sasl_access inline:{ alice@example.com=own_mailbox_0, bob@example.org=own_mailbox_1, carol@example.com=own_mailbox_2 }",
    "check_policy_service unix:ratelimit/policy"]);
  expect(get(ok, "postconf-mua-rcpt")).toMatchObject({ rc: 0, err: "" });
  expect(get(ok, "postconf-mua-rcpt").out).not.toContain("ratelimit");
});

test("Postfix 3.10's changed defaults do not reach us: main.cf sets each as on Debian 12, and names the Postfix it is for", () => {
  // 3.10's own defaults: shutdown since 3.10.8 (HISTORY 20251208), normalize and yes since 3.9, medium without RC4 & co. since 3.8.
  const defaults = get(ok, "postconf-d-changed").out;
  expect(defaults).toMatch(/^milter_default_action = shutdown$/m);
  expect(defaults).toMatch(/^smtpd_forbid_bare_newline = normalize$/m);
  expect(defaults).toMatch(/^smtpd_forbid_unauth_pipelining = yes$/m);
  expect(defaults).toMatch(/^tls_medium_cipherlist = .*!RC4/m);
  const ours = Object.fromEntries(get(ok, "postconf-changed").out.trim().split("\n").map((l) => l.split(" = ")));
  const mainCf = renderedFile(files13, "/etc/postfix/main.cf").content;
  const line = (text: string, name: string) => new RegExp(`^${name} = .*$`, "m").exec(text)?.[0];
  const mainCf12 = renderedFile(files12, "/etc/postfix/main.cf").content;
  for (const name of CHANGED_DEFAULTS) expect({ name, line: line(mainCf, name) }).toEqual({ name, line: expect.stringMatching(/ = /) });
  for (const name of CHANGED_DEFAULTS) expect({ name, line: line(mainCf, name) }).toEqual({ name, line: line(mainCf12, name) });
  expect(ours).toEqual({
    milter_default_action: "tempfail", smtpd_forbid_bare_newline: "normalize", smtpd_forbid_unauth_pipelining: "yes",
    tls_medium_cipherlist: expect.stringMatching(/^ECDHE-ECDSA-AES128-GCM-SHA256:/),
  });
  const version = get(ok, "postconf-version").out.trim().split(".").slice(0, 2).join(".");
  expect(mainCf.split("\n")[1]).toBe(`# Postfix ${version} (Debian 13). Every Debian default that weakens this setup is overridden below.`);
});

test("…and warns on an unknown parameter in main.cf and in master.cf (controls)", () => {
  expect(get(bad, "postconf-n").err).toMatch(/main\.cf: unused parameter: smtpd_tls_no_such_parameter=yes/);
  expect(get(bad, "postconf-n").err).toMatch(/master\.cf: unused parameter: smtpd_no_such_service_parameter=yes/);
});

test("Dovecot 2.4: doveconf reads the file without a word; Dovecot 2.3's file is refused (control)", () => {
  expect({ rc: get(ok, "doveconf").rc, err: get(ok, "doveconf").err }).toEqual({ rc: 0, err: "" });
  expect(get(bad, "doveconf").rc).not.toBe(0);
  expect(get(bad, "doveconf").err).toMatch(/dovecot_config_version/);
});

test("every password hash verifies with Dovecot 2.4's doveadm pw", () => {
  const checked = Object.keys(ok).filter((n) => n.startsWith("pw-"));
  expect(checked).toHaveLength(3);
  for (const n of checked) expect({ n, rc: get(ok, n).rc, out: get(ok, n).out }).toEqual({ n, rc: 0, out: expect.stringContaining("(verified)") });
});

test("Dovecot 2.4 runs on the files: the userdb, a quota warning delivered, a TLS IMAP login with the user's quota, the auth failures fail2ban bans", () => {
  expect(get(ok, "dovecot-start")).toMatchObject({ rc: 0, err: "" });
  const user = get(ok, "doveadm-user").out;
  expect(user).toMatch(/^home\s+\/srv\/mail\/vmail\/example\.com\/alice$/m);
  expect(user).toMatch(/^quota_storage_size\s+1M$/m);
  const imap = get(ok, "imap-login").out;
  expect(imap).toMatch(/^a OK /m);
  expect(get(ok, "quota-recalc")).toMatchObject({ rc: 0, err: "" });
  // Full: a delivery is refused; the quota warning still arrives (delivered past the quota).
  // Full: the small delivery is refused (LDA rejects it rather than fail); the quota warning still arrives.
  expect(get(ok, "quota-warning")).toMatchObject({ rc: 0, err: "" });
  expect(imap).toMatch(/^\* QUOTA "User quota" \(STORAGE \d+ 1024\)/m);
  expect(imap.replace(/\r/g, "").match(/^Subject: .*$/gm)).toEqual(["Subject: big", "Subject: Your mailbox is 90% full"]);
  // The 2.4 log line, and our filter counting it once per failed check (Debian 12's filter finds none: control).
  expect(readFileSync(join(work, "good", "in", "syslog"), "utf8"))
    .toMatch(/ vm dovecot: auth\(alice@example\.com,192\.0\.2\.7,[^)]*\): passwd-file: Password mismatch$/m);
  expect(readFileSync(join(work, "good", "in", "syslog"), "utf8"))
    .toMatch(/ vm dovecot: auth\(alice@example\.com,127\.0\.0\.1,[^)]*\)<[^>]+>: passwd-file: Password mismatch$/m);
  expect(get(ok, "fail2ban-regex").out).toMatch(/Failregex: 3 total/);
  expect(get(ok, "fail2ban-regex").out).toMatch(/\|\s+\d+\) \[3\] /);
  expect(get(bad, "fail2ban-regex").out).toMatch(/Failregex: 0 total/);
  // fail2ban 1.1 reads our jails on Debian 13's configuration; Postfix's SASL lines come from the unit 13 runs.
  expect(get(ok, "fail2ban-dump").rc).toBe(0);
  expect(get(ok, "fail2ban-dump").out).toContain("['set', 'postfix-sasl', 'addjournalmatch', '_SYSTEMD_UNIT=postfix.service']");
  expect(get(bad, "dovecot-start").rc).not.toBe(0);
  expect(get(ok, "dovecot-stop").rc).toBe(0);
});

test("rspamd 3.12 reads our settings as 3.4 does: thresholds, loopback only is local, headers, no signing, Bayes in redis", () => {
  const actions = get(ok, "rspamadm-actions").out;
  expect(actions).toMatch(/^reject = 15;$/m);
  expect(actions).toMatch(/^add_header = 6;$/m);
  // 3.4 left a disabled action out of the dump; 3.12 shows it as null. Either way it has no threshold.
  expect(actions).toMatch(/^greylist = null;$/m);
  expect(get(ok, "rspamadm-options").out).toMatch(/local_addrs \[\n\s+"127\.0\.0\.0\/8",\n\s+"::1",/);
  expect(get(ok, "rspamadm-options").out).not.toContain("10.0.0.0/8");
  expect(get(ok, "rspamadm-milter_headers").out).toMatch(/use \[\n\s+"authentication-results",\n\s+"x-spam-status",\n\s*\]/);
  expect(get(ok, "rspamadm-dkim_signing").out).toMatch(/^enabled = false;$/m);
  expect(get(ok, "rspamadm-classifier").out).toMatch(/servers = "127\.0\.0\.1:6379";/);
  expect(get(ok, "rspamadm-classifier").out).toMatch(/autolearn = false;/);
});

test("OpenDKIM 2.11, rspamd 3.12, nginx 1.26 and Pigeonhole accept our files and refuse a broken one (controls)", () => {
  for (const n of ["opendkim-n", "nginx-t"]) expect({ n, ...get(ok, n) }).toEqual({ n, rc: 0, out: "", err: "" });
  expect(get(ok, "rspamadm-configtest")).toMatchObject({ rc: 0, out: expect.stringContaining("syntax OK") });
  const sieve = Object.keys(ok).filter((n) => n.startsWith("sievec-"));
  expect(sieve).toHaveLength(3);
  for (const n of sieve) expect({ n, ...get(ok, n) }).toEqual({ n, rc: 0, out: "", err: "" });
  for (const n of ["opendkim-n", "nginx-t", "rspamadm-configtest", "sievec-junk.sieve"]) {
    expect({ n, failed: get(bad, n).rc !== 0 }).toEqual({ n, failed: true });
  }
});
