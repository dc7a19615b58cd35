// The rendered tree judged by the real programs of Debian 12: postfix check, postconf, doveconf,
// doveadm pw, opendkim, opendkim-testkey, rspamadm configtest, sievec and nginx -t.
//
// The files reference their real paths (/etc/postfix/…, /etc/mailserver/tls/…), so they are checked
// there, inside a private mount namespace: /etc is an overlay with the rendered tree on top, and
// Postfix's queue and data directories are overlays too. Nothing on the host changes, and the bytes
// checked are exactly the bytes rendered. Needs root (mount namespaces) and the Debian packages:
// postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve dovecot-managesieved rspamd opendkim
// opendkim-tools openssl util-linux bsdutils nginx.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import type { RenderedFile } from "../../components/core/files";
import { txtContent } from "../../components/core/records";
import { renderFiles } from "../../components/core/render";
import { writeTree } from "../../scripts/render";
import { FIXTURE_PASSWORDS, fixtureDkimKeys, fixtureRaw } from "../fixtures/config";

const PROGRAMS = ["postfix", "postconf", "postmap", "postalias", "newaliases", "doveconf", "doveadm", "opendkim",
  "opendkim-testkey", "openssl", "unshare", "setpriv", "mount", "script", "rspamadm", "sievec", "sieve-test", "nginx"];
const PACKAGES = "postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve dovecot-managesieved rspamd opendkim opendkim-tools openssl util-linux bsdutils nginx";

/** Mozilla "intermediate" (TLS 1.2 part), strongest first: no CBC, no RSA key exchange, no SHA-1 MACs. */
const MOZILLA_INTERMEDIATE = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" +
  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:" +
  "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

interface Result { rc: number; out: string; err: string }

/** Everything that runs inside the namespace, as one shell script; each check leaves rc/out/err files. */
function script(files: RenderedFile[], tree: string, work: string): string {
  const users = files.find((f) => f.path === "/etc/dovecot/users")?.content ?? "";
  const lines = [
    "set -eu",
    `R=${q(tree)}; W=${q(work)}; RES="$W/results"; mkdir -p "$RES"`,
    'run() { n=$1; shift; set +e; "$@" >"$RES/$n.out" 2>"$RES/$n.err" </dev/null; echo $? >"$RES/$n.rc"; set -e; }',
    'runin() { n=$1; i=$2; shift 2; set +e; "$@" >"$RES/$n.out" 2>"$RES/$n.err" <"$i"; echo $? >"$RES/$n.rc"; set -e; }',
    // The merged directory takes the upper directory's owner and mode: copy them from the real one.
    'overlay() { u="$W/ov$(echo "$2" | tr / _)"; mkdir -p "$u/up" "$u/wk"; chown --reference="$2" "$u/up"; chmod --reference="$2" "$u/up"; mount -t overlay overlay -o "lowerdir=$1,upperdir=$u/up,workdir=$u/wk" "$2"; }',
    'overlay "$R/etc:/etc" /etc',
    "overlay /var/spool/postfix /var/spool/postfix",
    "overlay /var/lib/postfix /var/lib/postfix",
    // A throwaway certificate where provisioning puts the real one.
    "mkdir -p /etc/mailserver/tls",
    "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mail.example.com -days 2 " +
      "-keyout /etc/mailserver/tls/privkey.pem -out /etc/mailserver/tls/fullchain.pem 2>/dev/null",
    // Owners and modes as the manifest says, then the rebuild steps the push step runs.
    ...files.flatMap((f) => [`chown ${f.owner}:${f.group} ${f.path}`, `chmod ${f.mode} ${f.path}`]),
    ...files.filter((f) => f.rebuild === "postmap").map((f) => `run ${q(`postmap-${f.path.split("/").pop()}`)} postmap ${f.path}`),
    "run newaliases newaliases",
    // postfix-script prints its warnings only to a terminal (else only to syslog): give it one.
    'run postfix-check script -qec "postfix check" /dev/null',
    "run postconf-n postconf -n",
    "run postconf-M postconf -M",
    "run stat-saslpasswd-db stat -c %a:%U /etc/postfix/sasl_passwd.db",
    "run query-alias postmap -q noreply@example.com hash:/etc/postfix/virtual_alias_maps",
    "run query-transport postmap -q discard.invalid hash:/etc/postfix/transport",
    "run query-root postalias -q root hash:/etc/aliases",
    "run doveconf doveconf -n",
    // -n hides defaults; these must hold whatever the default is.
    "run doveconf-values doveconf ssl ssl_min_protocol disable_plaintext_auth auth_mechanisms",
    "run opendkim-n opendkim -n",
    // rspamd reads Debian's rspamd.conf with our local.d/override.d files (the overlay puts them in place).
    "run rspamadm-configtest rspamadm configtest",
    "run rspamadm-actions rspamadm configdump actions",
    "run rspamadm-options rspamadm configdump options",
    "run rspamadm-milter-headers rspamadm configdump milter_headers",
    "run rspamadm-dkim-signing rspamadm configdump dkim_signing",
    "run rspamadm-classifier rspamadm configdump classifier",
    // Every sieve script we ship compiles (the learn-* ones only with the imapsieve and extprograms plugins);
    // the global one files what rspamd marks as spam into Junk (and nothing else).
    ...files.filter((f) => f.rebuild === "sievec")
      .map((f) => `run ${q(`sievec-${f.path.split("/").pop()}`)} sievec ${f.path} "$W/${f.path.split("/").pop()}.svbin"`),
    "printf 'From: a@b.example\\nX-Spam-Status: Yes, score=7.95\\nSubject: s\\n\\nx\\n' > \"$W/spam.eml\"",
    "printf 'From: a@b.example\\nX-Spam-Status: No, score=0.40\\nSubject: s\\n\\nx\\n' > \"$W/ham.eml\"",
    // sieve-test runs as nobody with a throwaway mail store (it only reports what it would do).
    "mkdir -p \"$W/md\" && printf 'mail_uid = 65534\\nmail_gid = 65534\\nfirst_valid_uid = 1\\nfirst_valid_gid = 1\\nmail_location = maildir:%s/md\\n' \"$W\" > \"$W/sieve-test.conf\"",
    "run sieve-spam sieve-test -c \"$W/sieve-test.conf\" /etc/dovecot/sieve/junk.sieve \"$W/spam.eml\"",
    "run sieve-ham sieve-test -c \"$W/sieve-test.conf\" /etc/dovecot/sieve/junk.sieve \"$W/ham.eml\"",
    "run doveconf-quota doveconf -h plugin/quota_status_overquota",
    // nginx reads our nginx.conf and nothing else (-T prints every file it read).
    "run nginx-t nginx -t -q -c /etc/nginx/nginx.conf",
    "run nginx-T nginx -T -c /etc/nginx/nginx.conf",
    `run opendkim-testkey setpriv --reuid opendkim --regid opendkim --clear-groups opendkim-testkey -x "$W/testkey.conf" -vvv`,
  ];
  // Passwords reach doveadm on stdin, never on its command line.
  users.split("\n").filter(Boolean).forEach((line, i) => {
    // address:hash:…:extra fields; a hash holds no ":" (the renderer refuses one).
    const [address, hash] = line.split(":");
    writeFileSync(join(work, `pw-${i}`), `${FIXTURE_PASSWORDS[address]}\n`, { mode: 0o600 });
    lines.push(`runin pw-${i} "$W/pw-${i}" doveadm pw -t ${q(hash)}`);
  });
  return `${lines.join("\n")}\n`;
}

/** opendkim-testkey asks DNS for the public keys: an unbound configuration serves them from memory. */
function testkeyConfig(files: RenderedFile[], work: string): void {
  const unbound = ["server:"];
  for (const f of files.filter((x) => x.path.startsWith("/etc/opendkim/keys/"))) {
    const domain = f.path.split("/")[4];
    unbound.push(`  local-zone: "${domain}." static`,
      `  local-data: 's1._domainkey.${domain}. 300 IN TXT ${txtContent(dkimRecordContent(dkimPublicKeyBase64(f.content)))}'`);
  }
  writeFileSync(join(work, "unbound.conf"), `${unbound.join("\n")}\n`);
  writeFileSync(join(work, "testkey.conf"), `KeyTable /etc/opendkim/KeyTable\nResolverConfiguration ${join(work, "unbound.conf")}\n`);
}

let work: string;
let files: RenderedFile[];
const results: Record<string, Result> = {};
const result = (name: string): Result => {
  const r = results[name];
  if (!r) throw new Error(`check ${name} did not run`);
  return r;
};
/** postconf -n output as a map. */
const params = (): Record<string, string> =>
  Object.fromEntries(result("postconf-n").out.split("\n").filter(Boolean).map((l) => {
    const [, key, value] = /^(\S+) =(?: (.*))?$/s.exec(l) ?? [];
    return [key, value ?? ""];
  }));

beforeAll(async () => {
  const missing = PROGRAMS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing programs: ${missing.join(", ")} — install the Debian packages: ${PACKAGES}`);
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root: it checks the files at their real paths in a mount namespace");

  work = mkdtempSync(join(tmpdir(), "render-daemons-"));
  chmodSync(work, 0o755); // opendkim-testkey runs as opendkim and reads its config from here
  files = await renderFiles({ config: parseConfig(fixtureRaw()), dkimPrivateKeys: fixtureDkimKeys() });
  const tree = join(work, "tree");
  writeTree(files, tree);
  testkeyConfig(files, work);
  writeFileSync(join(work, "checks.sh"), script(files, tree, work));
  const run = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", join(work, "checks.sh")], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`the namespace setup failed (${run.status}): ${run.stderr}`);
  const names = readFileSync(join(work, "checks.sh"), "utf8").match(/^run(?:in)? (\S+)/gm) ?? [];
  for (const n of names.map((x) => x.split(" ")[1].replace(/'/g, ""))) {
    const read = (ext: string) => readFileSync(join(work, "results", `${n}.${ext}`), "utf8");
    results[n] = { rc: Number(read("rc")), out: read("out"), err: read("err") };
  }
}, 120000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("postmap and newaliases build every table without complaint", () => {
  const builds = Object.keys(results).filter((n) => n.startsWith("postmap-") || n === "newaliases");
  expect(builds).toHaveLength(8);
  for (const n of builds) expect({ n, ...result(n) }).toEqual({ n, rc: 0, out: "", err: "" });
  // postmap copies the source's mode: the relay password stays root-only in its .db as well.
  expect(result("stat-saslpasswd-db").out.trim()).toBe("600:root");
});

test("postfix check passes with no warnings", () => {
  expect(result("postfix-check")).toEqual({ rc: 0, out: "", err: "" });
});

test("postconf -n and -M: no warnings, and the settings that matter", () => {
  expect(result("postconf-n").rc).toBe(0);
  expect(result("postconf-n").err).toBe("");
  expect(result("postconf-M").err).toBe("");
  const p = params();
  for (const key of ["smtpd_tls_mandatory_protocols", "smtpd_tls_protocols"]) {
    expect(p[key]).toBe(">=TLSv1.2");
  }
  expect(p.relayhost).toBe("[smtp.mailgun.org]:2525");
  expect(p.smtp_tls_security_level).toBe("secure");
  expect(p.smtp_sasl_security_options).toBe("noanonymous");
  expect(p.smtpd_sender_login_maps).toBe("hash:$config_directory/sender_login_maps");
  expect(p.milter_default_action).toBe("tempfail");
  expect(p.smtpd_milters).toBe("inet:127.0.0.1:8891, inet:127.0.0.1:11332");
  expect(p.non_smtpd_milters).toBe("inet:127.0.0.1:8891");
  expect(p.smtpd_tls_auth_only).toBe("yes");
  expect(p.mynetworks).toBe("127.0.0.0/8");
  expect(p.mydestination.split(/,\s*/)).not.toEqual(expect.arrayContaining(["example.com"]));
  expect(p.virtual_mailbox_domains).toBe("example.com, example.org");
  expect(p.message_size_limit).toBe(String(30 * 1024 * 1024));

  const master = result("postconf-M").out.replace(/\n\s+/g, " ");
  expect(master).toMatch(/^cleanup-submission +unix .* cleanup -o syslog_name=postfix\/submission -o header_checks=regexp:\$config_directory\/submission_header_checks -o nested_header_checks=$/m);
  expect(master).toMatch(/^submission +inet .* smtpd .*-o smtpd_tls_security_level=encrypt .*-o smtpd_sasl_auth_enable=yes/m);
  expect(master).toMatch(/^submissions +inet .* smtpd .*-o smtpd_tls_wrappermode=yes .*-o smtpd_sasl_auth_enable=yes/m);
  expect(master).toMatch(/^discard +unix .* discard$/m);
});

// Exact and in order: a restriction list is evaluated first match wins, so moving `permit` up, or dropping
// an entry, changes who may relay or forge. Changing one of these on purpose must fail here.
test("the restriction lists, exactly and in order", () => {
  const p = params();
  // Commas inside an inline:{ … } table do not separate entries of the list.
  const list = (key: string) => ((p[key] ?? "").match(/(?:[^,{]|\{[^}]*\})+/g) ?? []).map((e) => e.trim());
  expect(list("smtpd_relay_restrictions")).toEqual(["permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"]);
  expect(list("smtpd_recipient_restrictions")).toEqual([
    "reject_non_fqdn_recipient", "reject_unlisted_recipient", "check_policy_service unix:private/quota-status"]);
  expect(list("smtpd_sender_restrictions")).toEqual([
    "reject_non_fqdn_sender", "permit_mynetworks", "check_sender_access hash:$config_directory/hosted_sender_access"]);
  expect(list("mua_sender_restrictions")).toEqual([
    "reject_non_fqdn_sender", "check_sender_access hash:$config_directory/submission_sender_access",
    "reject_sender_login_mismatch", "permit_sasl_authenticated", "reject"]);
  // Per-client limits (anvil): loopback and abuseExemptRanges are exempt, nobody else.
  expect([p.smtpd_client_connection_count_limit, p.smtpd_client_connection_rate_limit, p.smtpd_client_message_rate_limit,
    p.smtpd_client_auth_rate_limit, p.smtpd_soft_error_limit, p.smtpd_hard_error_limit])
    .toEqual(["10", "60", "100", "30", "5", "${stress?{1}:{10}}"]);
  expect(p.smtpd_client_event_limit_exceptions).toBe("$mynetworks 198.51.100.0/24 [2001:db8:1::]/48");
  // The login's own mailbox (its class) before the hourly limit: mail to it is not counted.
  expect(list("mua_recipient_restrictions")).toEqual([...list("smtpd_recipient_restrictions"),
    "check_sasl_access inline:{ alice@example.com=own_mailbox_0, bob@example.org=own_mailbox_1, carol@example.com=own_mailbox_2 }",
    "check_policy_service unix:ratelimit/policy"]);
  expect(p.smtpd_restriction_classes).toBe("own_mailbox_0 own_mailbox_1 own_mailbox_2");
  expect(p.own_mailbox_1).toBe("check_recipient_access inline:{ bob@example.org=OK }");
  expect(list("smtpd_helo_restrictions")).toEqual([
    "permit_mynetworks", "permit_sasl_authenticated", "reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname"]);
  expect(p.local_recipient_maps).toBe("$alias_maps");
  expect([p.smtpd_forbid_bare_newline, p.smtpd_forbid_bare_newline_exclusions, p.smtpd_forbid_unauth_pipelining])
    .toEqual(["normalize", "", "yes"]);
  expect(p.smtpd_discard_ehlo_keywords).toBe("silent-discard, dsn");
  expect([p.smtpd_sasl_auth_enable, p.smtpd_tls_security_level, p.smtpd_tls_auth_only]).toEqual(["no", "may", "yes"]);
  expect(p.tls_medium_cipherlist).toBe(MOZILLA_INTERMEDIATE);
  expect([p.smtpd_tls_ciphers, p.smtpd_tls_mandatory_ciphers, p.smtp_tls_mandatory_ciphers]).toEqual(["medium", "medium", "medium"]);

  // Both submission services: login required, TLS first, the same sender rules, DSN back on, own cleanup.
  const master = result("postconf-M").out.replace(/\n\s+/g, " ");
  for (const [service, tlsOption] of [["submission", "smtpd_tls_security_level=encrypt"], ["submissions", "smtpd_tls_wrappermode=yes"]]) {
    const line = master.split("\n").find((l) => l.startsWith(`${service} `)) ?? "";
    expect(line.split(" -o ").slice(1)).toEqual([
      `syslog_name=postfix/${service}`, tlsOption, "smtpd_sasl_auth_enable=yes",
      "smtpd_client_restrictions=permit_sasl_authenticated,reject", "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
      "smtpd_sender_restrictions=$mua_sender_restrictions", "smtpd_discard_ehlo_keywords=",
      "cleanup_service_name=cleanup-submission", "milter_macro_daemon_name=ORIGINATING",
      // OpenDKIM signs our users' mail; rspamd judges only what comes from outside.
      "smtpd_milters=$non_smtpd_milters",
      // Each recipient also counts against the login's sending limit (policyd-rate-limit).
      "smtpd_recipient_restrictions=$mua_recipient_restrictions",
    ]);
  }
  // Port 25 takes no overrides at all.
  expect(master).toMatch(/^smtp +inet +n +- +y +- +- +smtpd$/m);
});

test("discard aliases reach discard(8); root reaches the first user", () => {
  expect(result("query-alias").out.trim()).toBe("discard@discard.invalid");
  expect(result("query-transport").out.trim()).toBe("discard:");
  expect(result("query-root").out.trim()).toBe("alice@example.com");
});

test("doveconf -n accepts dovecot.conf", () => {
  const r = result("doveconf");
  expect(r.err).toBe("");
  expect(r.rc).toBe(0);
  expect(r.out).toMatch(/^ssl = required$/m);
  expect(result("doveconf-values")).toEqual({
    rc: 0, err: "",
    out: "ssl = required\nssl_min_protocol = TLSv1.2\ndisable_plaintext_auth = yes\nauth_mechanisms = plain login\n",
  });
});

test("nginx accepts its configuration, reads no other file and listens on 443 only", () => {
  expect(result("nginx-t")).toEqual({ rc: 0, out: "", err: "" });
  const dump = result("nginx-T").out;
  expect(dump.match(/^# configuration file .*:$/gm)).toEqual(["# configuration file /etc/nginx/nginx.conf:"]);
  expect([...new Set(dump.match(/^\s*listen .*$/gm)?.map((l) => l.trim().split(/\s+/)[1]))]).toEqual(["443"]);
});

test("doveadm pw verifies every user's hash against its password", () => {
  const checks = Object.keys(results).filter((n) => n.startsWith("pw-"));
  expect(checks).toHaveLength(Object.keys(FIXTURE_PASSWORDS).length);
  for (const n of checks) {
    expect({ n, rc: result(n).rc }).toEqual({ n, rc: 0 });
    expect(result(n).out).toContain("(verified)");
  }
});

test("opendkim accepts its configuration and every key matches its DNS record", () => {
  expect(result("opendkim-n")).toEqual({ rc: 0, out: "", err: "" });
  const t = result("opendkim-testkey");
  expect(t.rc).toBe(0);
  expect(t.out).toContain("2 keys checked; 2 pass, 0 fail");
});

test("rspamd accepts its configuration: our thresholds, no signing, loopback only is local", () => {
  expect(result("rspamadm-configtest")).toMatchObject({ rc: 0, out: "syntax OK\n" });
  const actions = result("rspamadm-actions").out;
  expect(actions).toMatch(/^reject = 15;$/m);
  expect(actions).toMatch(/^add_header = 6;$/m);
  expect(actions).not.toMatch(/^greylist = /m);
  expect(result("rspamadm-options").out).toMatch(/local_addrs \[\n\s+"127\.0\.0\.0\/8",\n\s+"::1",/);
  expect(result("rspamadm-options").out).not.toContain("10.0.0.0/8");
  expect(result("rspamadm-milter-headers").out).toMatch(/use \[\n\s+"authentication-results",\n\s+"x-spam-status",\n\s*\]/);
  expect(result("rspamadm-dkim-signing").out).toMatch(/^enabled = false;$/m);
});

test("every sieve script compiles; the global one files only spam into Junk; the quota refusal text", () => {
  const compiled = Object.keys(results).filter((n) => n.startsWith("sievec-")).sort();
  expect(compiled).toEqual(["sievec-junk.sieve", "sievec-learn-ham.sieve", "sievec-learn-spam.sieve"]);
  for (const n of compiled) expect({ n, ...result(n) }).toEqual({ n, rc: 0, out: "", err: "" });
  expect(result("sieve-spam").out).toMatch(/store message in folder: Junk/);
  expect(result("sieve-ham").out).toMatch(/store message in folder: INBOX/);
  expect(result("doveconf-quota").out.trim()).toBe("552 5.2.2 Mailbox is full: the recipient's quota is exceeded");
});

test("ManageSieve listens on 4190 with users' scripts in their home; Junk moves are learned through imapsieve", () => {
  const conf = result("doveconf").out;
  expect(conf).toMatch(/^protocols = imap pop3 lmtp sieve$/m);
  expect(conf).toMatch(/^service managesieve-login \{\n {2}inet_listener sieve \{\n {4}port = 4190\n/m);
  expect(conf).toMatch(/^ {2}sieve = file:~\/sieve;active=~\/\.dovecot\.sieve$/m);
  expect(conf).toMatch(/^ {2}sieve_before = \/etc\/dovecot\/sieve\/junk\.sieve$/m);
  // doveconf -n sorts a section's settings by name.
  expect(conf).toContain(["  imapsieve_mailbox1_before = file:/etc/dovecot/sieve/learn-spam.sieve", "  imapsieve_mailbox1_causes = COPY",
    "  imapsieve_mailbox1_name = Junk", "  imapsieve_mailbox2_before = file:/etc/dovecot/sieve/learn-ham.sieve",
    "  imapsieve_mailbox2_causes = COPY", "  imapsieve_mailbox2_from = Junk", "  imapsieve_mailbox2_name = *\n"].join("\n"));
  expect(conf).toMatch(/^protocol imap \{\n {2}mail_plugins = " quota imap_quota imap_sieve"\n/m);
  // rspamd's Bayes classifier keeps its tokens in the local redis and learns only what users teach it.
  const stat = result("rspamadm-classifier");
  expect(stat.rc).toBe(0);
  expect(stat.out).toMatch(/servers = "127\.0\.0\.1:6379";/);
  expect(stat.out).toMatch(/autolearn = false;/);
});

test("the checks can fail: postconf reports an unknown parameter, doveadm a wrong password", () => {
  const dir = mkdtempSync(join(tmpdir(), "render-neg-"));
  try {
    const main = files.find((f) => f.path === "/etc/postfix/main.cf")?.content ?? "";
    writeFileSync(join(dir, "main.cf"), `${main}smtpd_tls_mandatory_protocol = >=TLSv1.2\n`);
    writeFileSync(join(dir, "master.cf"), "");
    const bad = spawnSync("postconf", ["-c", dir, "-n"], { encoding: "utf8" });
    expect(bad.stderr).toContain("unused parameter: smtpd_tls_mandatory_protocol");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const hash = files.find((f) => f.path === "/etc/dovecot/users")?.content.split("\n")[0].split(":")[1] ?? "";
  const wrong = spawnSync("doveadm", ["pw", "-t", hash], { input: "not-the-password\n", encoding: "utf8" });
  expect(wrong.status).not.toBe(0);
});
