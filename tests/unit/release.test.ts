// The Debian release comes from one key, mailserver:image, and chooses the daemons' configuration language.
// What Debian 13's own daemons think of the 13 files: tests/daemons/trixie.test.ts.
import { parseConfig } from "../../components/core/config";
import { debianReleaseOf } from "../../components/core/release";
import { releaseOf, withLabImage } from "../../lab/deploy";
import { renderProvisionScript } from "../../components/core/provision";
import { renderFiles } from "../../components/core/render";
import { fixtureDkimKeys, fixtureRaw, problems } from "../fixtures/config";

test.each([
  ["debian-cloud/debian-12", 12], ["debian-cloud/debian-13", 13], ["projects/debian-cloud/global/images/family/debian-13", 13],
  ["debian-12-bookworm-v20251014", 12], ["debian-cloud/debian-13-arm64", 13],
  ["debian-cloud/debian-11", undefined], ["ubuntu-os-cloud/ubuntu-2404-lts-amd64", undefined], ["my-debian-120", undefined],
])("the release of %s is %s", (image, release) => {
  expect(debianReleaseOf(image)).toBe(release);
});

test("the default image is Debian 12; an image of no supported release is refused with the fix", () => {
  expect(parseConfig(fixtureRaw()).release).toBe(12);
  expect(parseConfig(fixtureRaw({ "mailserver:image": "debian-cloud/debian-13" })).release).toBe(13);
  expect(problems({ "mailserver:image": "debian-cloud/debian-11" })).toEqual([
    expect.stringMatching(/^mailserver:image: names no Debian release we support — use the image family debian-cloud\/debian-12 or debian-cloud\/debian-13/),
  ]);
});

test("Debian 13 gets Dovecot 2.4's language; the others differ only where Postfix 3.10, its unit, Dovecot's log and policyd-rate-limit 1.2 did", async () => {
  const [twelve, thirteen] = await Promise.all(["debian-cloud/debian-12", "debian-cloud/debian-13"].map((image) =>
    renderFiles({ config: parseConfig(fixtureRaw({ "mailserver:image": image })), dkimPrivateKeys: fixtureDkimKeys() })));
  const content = (files: typeof twelve, path: string) => files.find((f) => f.path === path)?.content ?? "";
  const conf = content(thirteen, "/etc/dovecot/dovecot.conf");
  expect(conf.split("\n").find((l) => l !== "" && !l.startsWith("#"))).toBe("dovecot_config_version = 2.4.1");
  expect(conf).toContain("sendmail_path = /etc/dovecot/sieve-submit %{user}\n");
  expect(conf).not.toMatch(/%[a-zA-Z]\b|plugin \{|mail_location|disable_plaintext_auth/);
  expect(content(thirteen, "/etc/dovecot/users")).toMatch(/^alice@example\.com:\{ARGON2ID\}[^:]+::::::userdb_quota_storage_size=\d+M$/m);
  expect(content(thirteen, "/etc/dovecot/quota-warning.sh")).toContain('-o "quota_enforce=no"');
  expect(content(thirteen, "/etc/postfix/main.cf")).toContain("\ntls_required_enable = no\n");
  expect(content(twelve, "/etc/postfix/main.cf")).not.toContain("tls_required_enable");
  const differ = thirteen.filter((f) => f.content !== content(twelve, f.path)).map((f) => f.path);
  expect(differ).toEqual(["/etc/dovecot/dovecot.conf", "/etc/dovecot/quota-warning.sh", "/etc/dovecot/sieve-submit", "/etc/dovecot/users",
    "/etc/fail2ban/filter.d/mailserver-dovecot-auth.conf", "/etc/fail2ban/jail.d/mailserver.local",
    // The sending limit at DATA (policyd-rate-limit 1.2: tests/unit/render.test.ts).
    "/etc/policyd-rate-limit.yaml", "/etc/postfix/main.cf", "/etc/postfix/master.cf"]);
  expect(content(thirteen, "/etc/fail2ban/jail.d/mailserver.local")).toContain("\njournalmatch = _SYSTEMD_UNIT=postfix.service\n");
});

test("provisioning extends and checks the unit the Postfix master runs in: postfix@- on Debian 12, postfix on 13", () => {
  const [twelve, thirteen] = ["debian-cloud/debian-12", "debian-cloud/debian-13"].map((image) =>
    renderProvisionScript(parseConfig(fixtureRaw({ "mailserver:image": image }))));
  const dropIns = (script: string) => [...script.matchAll(/\/etc\/systemd\/system\/(postfix[^/]*)\.d\/(\S+)/g)].map((m) => `${m[1]}/${m[2]}`);
  expect(dropIns(twelve)).toEqual(["postfix@.service/mailserver-restart.conf"]);
  expect(dropIns(thirteen)).toEqual(["postfix.service/mailserver-restart.conf"]);
  // The spool mount's drop-in is written in a loop over the unit files.
  expect(twelve).toContain("for unit in postfix@.service dovecot.service; do");
  expect(thirteen).toContain("for unit in postfix.service dovecot.service; do");
  expect(twelve).toContain('name=$unit; [ "$unit" = postfix ] && name=postfix@-\n');
  expect(thirteen).toContain('name=$unit; [ "$unit" = postfix ] && name=postfix\n');
  // Only comments name Debian 12's units.
  expect(thirteen.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n")).not.toMatch(/postfix@|@POSTFIX_UNIT@/);
});

test("LAB_IMAGE stands for mailserver:image in the lab's stack files; a value of no supported release is refused", () => {
  const config = { "mailserver:domain": "example.test" };
  expect(releaseOf(config)).toBe(12);
  expect(withLabImage(config, undefined)).toBe(config);
  const thirteen = withLabImage(config, "debian-cloud/debian-13");
  expect(thirteen["mailserver:image"]).toBe("debian-cloud/debian-13");
  expect(releaseOf(thirteen)).toBe(13);
  expect(releaseOf(withLabImage({ "mailserver:image": "debian-cloud/debian-13" }, "debian-cloud/debian-12"))).toBe(12);
  expect(() => withLabImage(config, "debian-cloud/debian-11")).toThrow(/^LAB_IMAGE=debian-cloud\/debian-11 names no Debian release we support/);
});
