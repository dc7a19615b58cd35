// The renderer: determinism, golden files, secrets and the choices that the daemons tier cannot see.
// Golden files: UPDATE_GOLDEN=1 npx jest --selectProjects unit tests/unit/render.test.ts rewrites them.
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { renderFiles } from "../../components/core/render";
import { rawFromStackYaml } from "../../scripts/render";
import { CAROL_HASH, FIXTURE_PASSWORDS, fixtureAliases, fixtureDkimKeys, fixtureRaw, fixtureUsers, renderedFile as file } from "../fixtures/config";

const GOLDEN = join(__dirname, "..", "fixtures", "golden");
const render = (over: Record<string, unknown> = {}, keys = fixtureDkimKeys()) =>
  renderFiles({ config: parseConfig(fixtureRaw(over)), dkimPrivateKeys: keys });
const lines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

let files: RenderedFile[];
beforeAll(async () => {
  files = await render();
});

test("two renders are byte-identical and sorted by path", async () => {
  const again = await render();
  expect(JSON.stringify(again)).toBe(JSON.stringify(files));
  const paths = files.map((f) => f.path);
  expect(paths).toEqual([...paths].sort());
});

test("golden files", () => {
  // DKIM private keys are fixtures already; the golden tree holds everything else plus the attributes.
  const golden = files.filter((f) => !f.path.startsWith("/etc/opendkim/keys/"));
  const manifest = `${JSON.stringify(files.map(({ content: _c, ...meta }) => meta), null, 2)}\n`;
  const entries: [string, string][] = [...golden.map((f): [string, string] => [f.path, f.content]), ["/manifest.json", manifest]];
  for (const [path, content] of entries) {
    const target = join(GOLDEN, path);
    if (process.env.UPDATE_GOLDEN === "1") {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
    expect({ path, content }).toEqual({ path, content: readFileSync(target, "utf8") });
  }
});

test("a changed password changes only that user's line", async () => {
  const users = fixtureUsers.map((u) => (u.address === "bob@example.org" ? { ...u, password: "another-Passw0rd" } : u));
  const changed = await render({ "mailserver:users": JSON.stringify(users) });
  const differing = changed.filter((f, i) => f.content !== files[i].content).map((f) => f.path);
  expect(differing).toEqual(["/etc/dovecot/users"]);
  const before = file(files, "/etc/dovecot/users").content.split("\n");
  const after = file(changed, "/etc/dovecot/users").content.split("\n");
  expect(after.filter((l, i) => l !== before[i]).map((l) => l.split(":")[0])).toEqual(["bob@example.org"]);
});

test("secrets are flagged and kept out of every other file", () => {
  expect(files.filter((f) => f.secret).map((f) => [f.path, f.mode, f.owner, f.group])).toEqual([
    ["/etc/dovecot/users", "0640", "root", "dovecot"],
    ["/etc/opendkim/keys/example.com/s1.private", "0600", "opendkim", "opendkim"],
    ["/etc/opendkim/keys/example.org/s1.private", "0600", "opendkim", "opendkim"],
  ]);
  for (const f of files.filter((x) => !x.secret)) {
    expect(f.content).not.toContain("relay-Secret-42");
    expect(f.content).not.toMatch(/ARGON2ID|PRIVATE KEY/);
  }
  for (const password of Object.values(FIXTURE_PASSWORDS)) {
    for (const f of files) expect(f.content).not.toContain(password);
  }
  // The password comes from Secret Manager at apply time: the rendered file holds only the placeholder.
  expect(file(files, "/etc/postfix/sasl_passwd").content).toBe("[smtp.mailgun.org]:2525 postmaster@mg.example.com:@mailserver-relay-password@\n");
  expect(file(files, "/etc/postfix/sasl_passwd").secret).toBe(false);
});

test("passwd-file: hashes only, given hashes kept as they are", () => {
  const rows = lines(file(files, "/etc/dovecot/users").content).map((l) => l.split(":"));
  expect(rows.map(([a]) => a)).toEqual(["alice@example.com", "bob@example.org", "carol@example.com"]);
  expect(rows[0][1]).toMatch(/^\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(rows[2][1]).toBe(CAROL_HASH);
  // passwd-file: address:hash:uid:gid:gecos:home:shell:extra fields (the quota, default or the user's own).
  expect(rows.map((r) => [r.slice(2, 7), r.slice(7).join(":")])).toEqual([
    [["", "", "", "", ""], "userdb_quota_rule=*:storage=2048M"],
    [["", "", "", "", ""], "userdb_quota_rule=*:storage=512M"],
    [["", "", "", "", ""], "userdb_quota_rule=*:storage=2048M"]]);
});

test("rspamd: our thresholds, no signing, verdict headers, greylisting only when asked", async () => {
  const local = (name: string, fs: RenderedFile[] = files) =>
    file(fs, `/etc/rspamd/${name === "options.inc" ? "override.d" : "local.d"}/${name}`).content;
  expect(local("actions.conf")).toMatch(/^reject = 15;$/m);
  expect(local("actions.conf")).toMatch(/^add_header = 6;$/m);
  expect(local("actions.conf")).toMatch(/^greylist = null;$/m);
  expect(local("greylist.conf")).toMatch(/^enabled = false;$/m);
  expect(local("dkim_signing.conf")).toMatch(/^enabled = false;$/m);
  expect(local("dmarc.conf")).toContain('quarantine = "add_header";');
  expect(local("options.inc")).toMatch(/^local_addrs = \[127\.0\.0\.0\/8, ::1\];$/m);
  const grey = await renderFiles({
    config: parseConfig(fixtureRaw({ "mailserver:greylisting": "true", "mailserver:spamJunkScore": "3", "mailserver:spamRejectScore": "9" })),
    dkimPrivateKeys: fixtureDkimKeys(),
  });
  expect(local("actions.conf", grey)).toMatch(/^reject = 9;\nadd_header = 3;[^]*^greylist = 3;$/m);
  expect(local("greylist.conf", grey)).toContain('enabled = true;\nservers = "127.0.0.1:6379";');
  expect(local("greylist.conf", grey)).toMatch(/^timeout = 300s;$/m);
  expect(files.every((f) => f.service !== "rspamd" || /^\/etc\/rspamd\/(local|override)\.d\//.test(f.path))).toBe(true);
});

test("Authentication-Results: a forged one with our name and OpenDKIM's own are dropped", () => {
  expect(lines(file(files, "/etc/postfix/header_checks").content))
    .toEqual(["/^Authentication-Results:[[:space:]]*mail\\.example\\.com([[:space:];]|$)/ IGNORE"]);
  expect(lines(file(files, "/etc/postfix/milter_header_checks").content))
    .toEqual(["/^Authentication-Results:[[:space:]]*opendkim\\.invalid;/ IGNORE"]);
  expect(file(files, "/etc/opendkim.conf").content).toMatch(/^AuthservID +opendkim\.invalid$/m);
  // Signing and the forged-From policy depend on these lines; the goldens alone would follow any edit.
  const dkimConf = file(files, "/etc/opendkim.conf").content.split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  expect(dkimConf).toEqual(expect.arrayContaining([
    "Mode sv", "Socket inet:8891@127.0.0.1", "SetupPolicyScript /etc/opendkim/setup.lua",
    "FinalPolicyScript /etc/opendkim/final.lua", "KeyTable /etc/opendkim/KeyTable", "RequireSafeKeys yes",
  ]));
});

test("services and rebuild steps", () => {
  const by = Object.fromEntries(files.map((f) => [f.path, [f.service, f.rebuild ?? ""]]));
  expect(by["/etc/postfix/main.cf"]).toEqual(["postfix", ""]);
  for (const map of ["virtual_mailbox_maps", "virtual_alias_maps", "sender_login_maps", "transport", "sasl_passwd"]) {
    expect(by[`/etc/postfix/${map}`]).toEqual(["postfix", "postmap"]);
  }
  expect(by["/etc/aliases"]).toEqual(["postfix", "newaliases"]);
  expect(by["/etc/dovecot/dovecot.conf"]).toEqual(["dovecot", ""]);
  expect(by["/etc/opendkim/KeyTable"]).toEqual(["opendkim", ""]);
  expect(by["/etc/dovecot/sieve/junk.sieve"]).toEqual(["dovecot", "sievec"]);
  expect(by["/etc/rspamd/local.d/worker-proxy.inc"]).toEqual(["rspamd", ""]);
});

test("discard aliases go to discard(8) through the transport map; root goes to the first user", () => {
  expect(lines(file(files, "/etc/postfix/virtual_alias_maps").content)).toContain("noreply@example.com discard@discard.invalid");
  expect(lines(file(files, "/etc/postfix/transport").content)).toEqual(["discard.invalid discard:"]);
  expect(lines(file(files, "/etc/aliases").content)).toContain("root: alice@example.com");
});

test("sender logins: own address, aliases that reach the user, the admin for the rest", () => {
  const map = Object.fromEntries(lines(file(files, "/etc/postfix/sender_login_maps").content).map((l) => l.split(" ")));
  expect(map["carol@example.com"]).toBe("carol@example.com");
  expect(map["team@example.com"]).toBe("alice@example.com,bob@example.org");
  expect(map["sales@example.org"]).toBe("bob@example.org");
  expect(map["noreply@example.com"]).toBe("alice@example.com");
  expect(map["forward@example.org"]).toBe("alice@example.com");
});

test("submission refuses a sender the login does not own, before it permits the login (587 and 465)", () => {
  // Postfix applies reject_sender_login_mismatch only where clients log in: on 587 and 465, through
  // mua_sender_restrictions (on port 25 it would be a silent no-op). e2e trust/submission-identity attacks it.
  const main = lines(file(files, "/etc/postfix/main.cf").content);
  const mua = main.find((l) => l.startsWith("mua_sender_restrictions ="))?.split("=")[1].split(",").map((r) => r.trim()) ?? [];
  expect(mua.indexOf("reject_sender_login_mismatch")).toBeGreaterThanOrEqual(0);
  expect(mua.indexOf("reject_sender_login_mismatch")).toBeLessThan(mua.indexOf("permit_sasl_authenticated"));
  expect(main).toContain("smtpd_sender_login_maps = hash:$config_directory/sender_login_maps");
  const master = file(files, "/etc/postfix/master.cf").content;
  const services = master.split(/\n(?=\S)/).filter((b) => /^submissions? inet/.test(b));
  expect(services).toHaveLength(2);
  for (const s of services) expect(s).toContain("-o smtpd_sender_restrictions=$mua_sender_restrictions");
});

test("what Dovecot sends for a user goes through the Sieve lane, under submission's rules (issue 21 §1)", () => {
  // e2e sieve/senders.test.ts and daemons sieve-lane.test.ts attack it; these are the lines they depend on.
  const dovecot = lines(file(files, "/etc/dovecot/dovecot.conf").content).map((l) => l.trim());
  expect(dovecot).toEqual(expect.arrayContaining(["sendmail_path = /etc/dovecot/sieve-submit %u",
    "sieve_extensions = -enotify -reject", "sieve_redirect_envelope_from = user_email",
    "sieve_quota_max_scripts = 20", "sieve_quota_max_storage = 1048576"]));
  expect(dovecot.some((l) => l.startsWith("submission_host"))).toBe(false);
  const submit = file(files, "/etc/dovecot/sieve-submit");
  expect([submit.mode, submit.service]).toEqual(["0755", "dovecot"]);
  expect(submit.content).toContain('LANE = ("127.0.0.1", 10588)');

  const master = file(files, "/etc/postfix/master.cf").content;
  const blocks = master.split(/\n(?=\S)/);
  const lane = blocks.filter((b) => /^127\.0\.0\.1:10588 inet /.test(b));
  expect(lane).toHaveLength(1);
  expect(lane[0].split("\n").map((l) => l.trim())).toEqual(expect.arrayContaining([
    "-o smtpd_authorized_xclient_hosts=127.0.0.1", "-o smtpd_sender_restrictions=$sieve_sender_restrictions",
    "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject", "-o smtpd_recipient_restrictions=$mua_recipient_restrictions",
    "-o milter_macro_daemon_name=SIEVE", "-o smtpd_milters=$non_smtpd_milters"]));
  // XCLIENT names a login: nowhere but on the loopback lane.
  expect(blocks.filter((b) => b.includes("xclient"))).toEqual(lane);
  const main = lines(file(files, "/etc/postfix/main.cf").content);
  expect(main.some((l) => l.includes("xclient"))).toBe(false);
  expect(main.find((l) => l.startsWith("mua_recipient_restrictions ="))).toContain("check_policy_service unix:ratelimit/policy");
  const sieve = main.find((l) => l.startsWith("sieve_sender_restrictions ="))?.split("=")[1].split(",").map((r) => r.trim()) ?? [];
  expect(sieve.indexOf("reject_sender_login_mismatch")).toBeGreaterThanOrEqual(0);
  expect(sieve.indexOf("reject_sender_login_mismatch")).toBeLessThan(sieve.indexOf("permit_sasl_authenticated"));
  expect(sieve[sieve.length - 1]).toBe("reject");
});

test("the sending limit is asked at RCPT on Debian 12 (policyd-rate-limit 1.0.1), at DATA on 13 (1.2, count_mode 1)", async () => {
  const policy = "check_policy_service unix:ratelimit/policy";
  const own = "check_sasl_access inline:{ alice@example.com=own_mailbox_0, bob@example.org=own_mailbox_1, carol@example.com=own_mailbox_2 }";
  const setting = (f: RenderedFile[], name: string) =>
    lines(file(f, "/etc/postfix/main.cf").content).find((l) => l.startsWith(`${name} =`))?.slice(name.length + 3);
  const dataOverrides = (f: RenderedFile[]) => (file(f, "/etc/postfix/master.cf").content.match(/^ {2}-o smtpd_data_restrictions=.*$/gm) ?? []);
  const yaml = (f: RenderedFile[]) => file(f, "/etc/policyd-rate-limit.yaml").content;

  expect(setting(files, "mua_recipient_restrictions")).toContain(`quota-status, ${own}, ${policy}`);
  expect(setting(files, "mua_data_restrictions")).toBeUndefined();
  expect(dataOverrides(files)).toEqual([]);
  expect(yaml(files)).not.toMatch(/count_mode/);

  const trixie = await render({ "mailserver:image": "debian-cloud/debian-13" });
  expect(setting(trixie, "mua_recipient_restrictions")).toBe(
    "reject_non_fqdn_recipient, reject_unlisted_recipient, check_policy_service unix:private/quota-status");
  // The own-mailbox classes before the limit, after port 25's DATA restriction.
  expect(setting(trixie, "mua_data_restrictions")).toBe(`${setting(trixie, "smtpd_data_restrictions")}, ${own}, ${policy}`);
  // 587, 465 and the Sieve lane.
  expect(dataOverrides(trixie)).toEqual(Array(3).fill("  -o smtpd_data_restrictions=$mua_data_restrictions"));
  expect(yaml(trixie)).toMatch(/^count_mode: 1$/m);
});

test("a catch-all takes only what no mailbox or alias takes, and owns no sender address", async () => {
  expect(lines(file(files, "/etc/postfix/virtual_alias_maps").content).some((l) => l.startsWith("@"))).toBe(false);
  const out = await render({ "mailserver:aliases": JSON.stringify([...fixtureAliases,
    { source: "@example.org", destinations: ["carol@example.com"] }]) });
  const aliasMap = lines(file(out, "/etc/postfix/virtual_alias_maps").content);
  expect(aliasMap).toContain("@example.org carol@example.com");
  // Every mailbox of example.org maps to itself (Postfix tries user@domain before @domain), none of example.com.
  const orgUsers = fixtureUsers.map((u) => u.address).filter((a) => a.endsWith("@example.org"));
  expect(orgUsers.length).toBeGreaterThan(0);
  expect(aliasMap.filter((l) => /^(\S+) \1$/.exec(l))).toEqual(orgUsers.sort().map((a) => `${a} ${a}`));
  const logins = lines(file(out, "/etc/postfix/sender_login_maps").content);
  expect(logins.filter((l) => l.startsWith("@"))).toEqual([]);
  expect(file(out, "/etc/opendkim/setup.lua").content).not.toContain(`["@example.org"]`);
});

test("a hostname that is itself a hosted domain stays out of mydestination", async () => {
  const out = await render({ "mailserver:hostname": "example.org" });
  const main = file(out, "/etc/postfix/main.cf").content;
  expect(main).toMatch(/^mydestination = localhost$/m);
  expect(lines(file(out, "/etc/postfix/virtual_alias_maps").content)).toContain("root@example.org alice@example.com");
  expect(file(files, "/etc/postfix/main.cf").content).toMatch(/^mydestination = \$myhostname, localhost$/m);
});

test("DKIM keys: PKCS#8 is stored as PKCS#1; missing, weak or foreign keys stop the render", async () => {
  const org = file(files, "/etc/opendkim/keys/example.org/s1.private").content;
  expect(org).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
  const given = createPrivateKey(fixtureDkimKeys()["example.org"]).export({ type: "pkcs1", format: "pem" }).toString();
  expect(org).toBe(given);
  const keys = fixtureDkimKeys();
  await expect(render({}, { "example.com": keys["example.com"] })).rejects.toThrow("no DKIM private key for example.org");
  const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  await expect(render({}, { ...keys, "example.org": weak })).rejects.toThrow("at least 2048 bits");
  await expect(render({}, { ...keys, "other.net": keys["example.com"] })).rejects.toThrow("not hosted: other.net");
});

test("a value with a newline cannot inject a line", async () => {
  // The schema refuses it first (config.test.ts); the renderer's own check is the second line of defence.
  const config = parseConfig(fixtureRaw());
  // (The relay password is no longer rendered at all: the server reads it from Secret Manager.)
  const relay = { ...config.relay, username: "user\nrelayhost = [evil.example]:25" };
  await expect(renderFiles({ config: { ...config, relay }, dkimPrivateKeys: fixtureDkimKeys() })).rejects.toThrow("control character");
});

test("message size limit from config, in bytes", () => {
  expect(file(files, "/etc/postfix/main.cf").content).toMatch(/^message_size_limit = 31457280$/m);
});

describe("stack file reading (npm run render)", () => {
  const yaml = [
    "config:",
    "  mailserver:domain: example.com",
    "  relayPort: 587",
    "  mailserver:relayPassword:",
    "    secure: v1:abc",
    "  mailserver:users:",
    "    - address: alice@example.com",
    "      password:",
    "        secure: v1:def",
    "    - address: bob@example.com",
    "      password:",
    "        secure: v1:ghi",
  ].join("\n");

  test("secure values become placeholders, or come from the environment", () => {
    const raw = rawFromStackYaml(yaml, { MAILSERVER_USER_PASSWORDS: JSON.stringify({ "alice@example.com": "from-env" }) });
    expect(raw["mailserver:relayPort"]).toBe(587);
    expect(raw["mailserver:relayPassword"]).toBe("<secret mailserver:relayPassword: set MAILSERVER_RELAY_PASSWORD>");
    expect(raw["cloudflare:apiToken"]).toMatch(/^<secret cloudflare:apiToken: .*MAILSERVER_CLOUDFLARE_TOKEN>$/);
    expect(raw["mailserver:users"]).toEqual([
      { address: "alice@example.com", password: "from-env" },
      { address: "bob@example.com", passwordHash: "{ARGON2ID}<secret mailserver users[1].password not decrypted - set MAILSERVER_USER_PASSWORDS>" },
    ]);
    const withEnv = rawFromStackYaml(yaml, { MAILSERVER_RELAY_PASSWORD: "relay", MAILSERVER_CLOUDFLARE_TOKEN: "cf" });
    expect([withEnv["mailserver:relayPassword"], withEnv["cloudflare:apiToken"]]).toEqual(["relay", "cf"]);
  });
});
