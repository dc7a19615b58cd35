// Values at the edges (issue 21 §4): each either works or is refused with the key and the fix.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_ACCOUNTS } from "../../components/core/accounts";
import { MAX_DNS_NAME, parseConfig } from "../../components/core/config";
import { planRecords } from "../../components/core/records";
import { renderConfigFiles } from "../../components/core/render";
import { fixtureRaw, longDomain, MINIMAL_RAW, problems } from "../fixtures/config";

const longest = 253 - "_submissions._tcp.".length;

describe("long domain names", () => {
  test("the fixture helper makes exact lengths in labels of at most 63", () => {
    for (const n of [40, 64, 65, 128, longest]) {
      expect(longDomain(n)).toHaveLength(n);
      expect(longDomain(n).split(".").every((l) => l.length >= 1 && l.length <= 63)).toBe(true);
    }
  });

  test(`a domain of ${longest} characters (labels of 63) is accepted and every name planned for it fits DNS`, () => {
    const domain = longDomain(longest);
    const extra = longDomain(longest - 1).replace(/^./, "z");
    const config = parseConfig({
      ...MINIMAL_RAW, "mailserver:domain": domain, "mailserver:users": "[]", "mailserver:dmarcReportEmail": "reports@example.net",
      "mailserver:extraDomains": JSON.stringify([{ name: extra, zoneId: "zone-2" }]),
    });
    expect(config.hostname).toBe(`mail.${domain}`);
    const keys = Object.fromEntries([domain, extra].map((d) => [d, { s1: "AAAA" }]));
    const names = planRecords(config, "192.0.2.1", keys).map((r) => r.name);
    expect(names.length).toBeGreaterThan(20);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(MAX_DNS_NAME);
      expect(n.split(".").every((l) => l.length <= 63)).toBe(true);
    }
    // The longest name planned is exactly at the limit: the rule is as tight as it can be.
    expect(Math.max(...names.map((n) => n.length))).toBe(MAX_DNS_NAME);
  });

  test("one character more is refused, naming the key and the longest domain that works", () => {
    expect(problems({ "mailserver:domain": longDomain(longest + 1), "mailserver:users": "[]" })).toEqual([
      `mailserver:domain: ${longDomain(longest + 1)} is ${longest + 1} characters, too long for the names published under it ` +
      `(DNS allows 253, and 18 go to prefixes such as _submissions._tcp.) — use a domain of at most ${longest} characters`,
    ]);
    expect(problems({ "mailserver:extraDomains": JSON.stringify([{ name: longDomain(longest + 1), zoneId: "z" }]) }))
      .toEqual(expect.arrayContaining([expect.stringMatching(/^mailserver:extraDomains\[0\]\.name: .* too long/)]));
  });

  test("a report address in another hosted domain whose _report._dmarc record would not fit DNS is refused", () => {
    const extra = longDomain(longest);
    expect(problems({ "mailserver:extraDomains": JSON.stringify([{ name: extra, zoneId: "z" }]) })).toEqual([
      `mailserver:dmarcReportEmail: postmaster@example.com needs the record ${extra}._report._dmarc.example.com so that ${extra}'s ` +
      "reports may go there, and it is 262 characters (DNS allows 253) — use a report address with a shorter domain",
    ]);
  });

  test("a long DKIM selector lowers the limit, and says so", () => {
    const selector = "s".repeat(40);
    expect(problems({ "mailserver:domain": longDomain(longest), "mailserver:users": "[]", "mailserver:dkimSelector": selector }))
      .toEqual([expect.stringContaining(`use a domain of at most ${253 - selector.length - 12} characters or shorter DKIM selectors`)]);
  });

  test("a hostname too long for its DANE record (_25._tcp.) is refused", () => {
    const domain = longDomain(200);
    const hostname = `${longDomain(45)}.${domain}`;
    expect(problems({ "mailserver:domain": domain, "mailserver:users": "[]", "mailserver:hostname": hostname }))
      .toEqual([`mailserver:hostname: ${hostname} is 246 characters, too long for its DANE record _25._tcp.<hostname> (DNS allows 253) — use a hostname of at most 244 characters`]);
  });

  test("nginx gets a server_names hash bucket that holds any DNS name (the default 64 refuses names over ~50)", async () => {
    const files = await renderConfigFiles(parseConfig(fixtureRaw({ "mailserver:domain": longDomain(longest), "mailserver:hostname": undefined,
      "mailserver:users": "[]", "mailserver:aliases": "[]", "mailserver:extraDomains": "[]" })));
    const nginx = files.find((f) => f.path === "/etc/nginx/nginx.conf")?.content ?? "";
    expect(nginx).toMatch(/^ {2}server_names_hash_bucket_size 512;$/m);
    expect(nginx).toContain(`autodiscover.${longDomain(longest)}`);
  });

  test("the certificate's CN is left out when the hostname is longer than a CN may be (64); the SAN has every name", () => {
    const script = readFileSync(join(__dirname, "../../templates/provision/mailserver-tls.sh"), "utf8");
    expect(script).toContain(`subj="/CN=\${CERT_NAMES[0]}"; [ "\${#CERT_NAMES[0]}" -le 64 ] || subj="/"`);
    expect(script.match(/-subj "\$subj"/g)).toHaveLength(2);
    expect(script).not.toContain("-subj \"/CN=");
  });
});

describe("IPv6 in abuseExemptRanges", () => {
  test("Postfix gets it in brackets (bare, it reads as a type:table), fail2ban bare", async () => {
    const files = await renderConfigFiles(parseConfig(fixtureRaw({ "mailserver:abuseExemptRanges": JSON.stringify(["198.51.100.0/24", "2001:db8:1::/48"]) })));
    const content = (p: string) => files.find((f) => f.path === p)?.content ?? "";
    expect(content("/etc/postfix/main.cf")).toMatch(/^smtpd_client_event_limit_exceptions = \$mynetworks 198\.51\.100\.0\/24 \[2001:db8:1::\]\/48$/m);
    expect(content("/etc/fail2ban/jail.d/mailserver.local")).toMatch(/^ignoreip = 127\.0\.0\.0\/8 198\.51\.100\.0\/24 2001:db8:1::\/48$/m);
  });

  test("a zone id is refused, naming the entry and the fix", () => {
    expect(problems({ "mailserver:abuseExemptRanges": JSON.stringify(["fe80::1%eth0/64"]) })).toEqual([
      "mailserver:abuseExemptRanges[0]: fe80::1%eth0/64 has an IPv6 zone id (%…), which names an interface of one machine and breaks fail2ban's ignoreip — drop the %… part, e.g. fe80::/64",
    ]);
    expect(problems({ "mailserver:sshSourceRanges": JSON.stringify(["fe80::1%eth0/64"]) }))
      .toEqual([expect.stringContaining("mailserver:sshSourceRanges[0]: fe80::1%eth0/64 is not a CIDR block")]);
  });
});

describe("addresses starting with -", () => {
  test.each([
    ["mailserver:acmeEmail", "-v@example.com", "mailserver:acmeEmail"],
    ["mailserver:dmarcReportEmail", "-x@example.net", "mailserver:dmarcReportEmail"],
    ["mailserver:users", JSON.stringify([{ address: "-alice@example.com", password: "pw" }]), "mailserver:users[0].address"],
    ["mailserver:aliases", JSON.stringify([{ source: "a@example.com", destinations: ["--help@example.net"] }]), "mailserver:aliases[0].destinations[0]"],
  ])("%s: refused as an option a program would read", (key, value, path) => {
    expect(problems({ [key]: value })).toEqual(expect.arrayContaining([
      `${path}: starts with -, which a program given the address (certbot -m, sendmail) reads as an option — start it with a letter or digit`,
    ]));
  });

  test("certbot gets the address and the directory as --email=/--server= values, never as a separate word", () => {
    const script = readFileSync(join(__dirname, "../../templates/provision/mailserver-tls.sh"), "utf8");
    expect(script).toContain('--server="$ACME_SERVER" --email="$ACME_EMAIL"');
    expect(script).not.toMatch(/ -m "\$ACME_EMAIL"| --email "\$ACME_EMAIL"| --server "\$ACME_SERVER"/);
  });
});

describe("deployUser", () => {
  test.each(["vmail", "www-data", "postfix", "dovecot", "dovenull", "opendkim", "_rspamd", "redis", "policyd-rate-limit", "nobody",
    "daemon", "sshd", "messagebus", "_chrony", "_anything"])("%s is refused: the guest agent would give it the deploy key and passwordless sudo", (user) => {
    expect(problems({ "mailserver:deployUser": user })).toEqual([
      "mailserver:deployUser: is an account the VM's system or one of its daemons uses (www-data, vmail, postfix, _rspamd …): it would get the deploy key and passwordless sudo — pick a name of your own such as deploy",
    ]);
  });

  test("a name of one's own works", () => {
    for (const user of ["deploy", "ops", "alice", "ci-deploy"]) expect(parseConfig({ ...MINIMAL_RAW, "mailserver:deployUser": user }).deployUser).toBe(user);
    expect(SYSTEM_ACCOUNTS.has("deploy")).toBe(false);
  });
});
