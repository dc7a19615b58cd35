import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS, ConfigError, parseConfig } from "../../components/core/config";
import { MINIMAL_RAW, problems } from "../fixtures/config";

const base = MINIMAL_RAW;

test("defaults", () => {
  const c = parseConfig(base);
  expect(c.hostname).toBe("mail.example.com");
  expect(c.relay).toEqual({ host: "smtp.mailgun.org", port: 2525, username: "postmaster@mg.example.com", password: "relay-secret" });
  expect(c.gcp.region).toBe("europe-west1");
  expect(c.aliases).toEqual([
    { source: "postmaster@example.com", destinations: ["alice@example.com"] },
    { source: "abuse@example.com", destinations: ["alice@example.com"] },
  ]);
  expect(c.dmarcReportEmail).toBe("postmaster@example.com");
  expect(c.protectData).toBe(true);
  expect(c.tls).toBe("acme");
  expect(c.bootDiskSizeGb).toBe(10);
  expect(parseConfig({ ...base, "mailserver:bootDiskSizeGb": "30" }).bootDiskSizeGb).toBe(30);
});

test("reports every missing key at once", () => {
  let error: ConfigError | undefined;
  try {
    parseConfig({});
  } catch (e) {
    error = e as ConfigError;
  }
  const keys = error!.problems.map((p) => p.split(":").slice(0, 2).join(":"));
  expect(keys).toEqual(expect.arrayContaining([
    "mailserver:domain", "mailserver:zoneId", "mailserver:relayUsername",
    "mailserver:sshSourceRanges", "gcp:project", "gcp:zone", "cloudflare:apiToken",
  ]));
  // Neither relay mode: the message offers both, each with its command.
  expect(error!.message).toMatch(/pulumi config set --secret mailserver:mailgunApiKey/);
  expect(error!.message).toMatch(/pulumi config set --secret mailserver:relayPassword/);
});

test.each([
  ["malformed domain", { "mailserver:domain": "exa_mple" }, "mailserver:domain: is not a valid domain name"],
  ["malformed hostname", { "mailserver:hostname": "mail..example.com" }, "mailserver:hostname: is not a valid domain name"],
  ["hostname outside hosted domains", { "mailserver:hostname": "mail.other.org" }, "mailserver:hostname: mail.other.org is not inside a hosted domain"],
  ["address outside hosted domains", { "mailserver:users": JSON.stringify([{ address: "a@other.org", password: "x" }]) }, "mailserver:users[0].address: a@other.org is not in a hosted domain"],
  ["malformed address", { "mailserver:users": JSON.stringify([{ address: "not-an-address", password: "x" }]) }, "mailserver:users[0].address: is not a valid e-mail address"],
  ["duplicate user", { "mailserver:users": JSON.stringify([{ address: "a@example.com", password: "x" }, { address: "A@example.com", password: "y" }]) }, "mailserver:users[1].address: a@example.com is already mailserver:users[0]"],
  ["user without password", { "mailserver:users": JSON.stringify([{ address: "a@example.com" }]) }, "mailserver:users[0]: has neither password nor passwordHash"],
  ["weak hash scheme", { "mailserver:users": JSON.stringify([{ address: "a@example.com", passwordHash: "{CRAM-MD5}abc" }]) }, "mailserver:users[0].passwordHash: scheme CRAM-MD5 is not accepted"],
  ["plaintext hash", { "mailserver:users": JSON.stringify([{ address: "a@example.com", passwordHash: "{PLAIN}secret" }]) }, "mailserver:users[0].passwordHash: scheme PLAIN is not accepted"],
  ["invalid CIDR", { "mailserver:sshSourceRanges": JSON.stringify(["10.0.0.300/8"]) }, "mailserver:sshSourceRanges[0]: 10.0.0.300/8 is not a CIDR block"],
  ["world SSH v4", { "mailserver:sshSourceRanges": JSON.stringify(["0.0.0.0/0"]) }, "mailserver:sshSourceRanges[0]: 0.0.0.0/0 opens SSH to the whole Internet"],
  ["world SSH v6", { "mailserver:sshSourceRanges": JSON.stringify(["::/0"]) }, "mailserver:sshSourceRanges[0]: ::/0 opens SSH to the whole Internet"],
  ["alias loop", { "mailserver:aliases": JSON.stringify([{ source: "a@example.com", destinations: ["b@example.com"] }, { source: "b@example.com", destinations: ["a@example.com"] }]) }, "mailserver:aliases: a@example.com → b@example.com → a@example.com is a loop"],
  ["alias outside hosted domains", { "mailserver:aliases": JSON.stringify([{ source: "x@other.org", destinations: ["alice@example.com"] }]) }, "mailserver:aliases[0].source: x@other.org is not in a hosted domain"],
  ["bad dmarc policy", { "mailserver:dmarcPolicy": "strict" }, "mailserver:dmarcPolicy: must be one of none, quarantine, reject"],
  ["bad tls mode", { "mailserver:tls": "letsencrypt" }, "mailserver:tls: must be one of acme, self-signed"],
  ["bad port", { "mailserver:relayPort": "70000" }, "mailserver:relayPort: must be at most 65535"],
  ["boot disk below the image's 10 GB", { "mailserver:bootDiskSizeGb": "8" }, "mailserver:bootDiskSizeGb: must be at least 10"],
  ["boot disk not a whole number", { "mailserver:bootDiskSizeGb": "12.5" }, "mailserver:bootDiskSizeGb: must be a whole number"],
  ["bad boolean", { "mailserver:protectData": "yes" }, "mailserver:protectData: must be true or false"],
  ["unknown key", { "mailserver:protecData": "false" }, "mailserver:protecData: is not a known key"],
  ["root deploy user", { "mailserver:deployUser": "root" }, "mailserver:deployUser: must not be root"],
  ["bad JSON", { "mailserver:users": "[{" }, "mailserver:users: is not valid JSON"],
])("%s", (_name, over, message) => {
  expect(problems(over)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
});

test("lists the problems of every key together, cross-key rules included", () => {
  const found = problems({
    "mailserver:tls": "x",
    "mailserver:sshSourceRanges": JSON.stringify(["0.0.0.0/0"]),
    "mailserver:users": JSON.stringify([{ address: "a@other.org", password: "x" }]),
  });
  expect(found).toEqual([
    "mailserver:tls: must be one of acme, self-signed",
    expect.stringContaining("mailserver:users[0].address: a@other.org is not in a hosted domain"),
    expect.stringContaining("mailserver:sshSourceRanges[0]: 0.0.0.0/0 opens SSH to the whole Internet"),
  ]);
});

// Every stand-in must pass its own key's rule, or one failed key hides every cross-key problem.
test.each([["gcp:zone", "europe-west"], ["mailserver:sshSourceRanges", "[\"x\"]"]])(
  "a failed %s still lets the cross-key rules report", (key, value) => {
    const found = problems({ [key]: value, "mailserver:users": JSON.stringify([{ address: "a@other.org", password: "x" }]) });
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${key.replace(/[.:]/g, "\\$&")}`)),
      expect.stringContaining("mailserver:users[0].address: a@other.org is not in a hosted domain")]));
  });

test("discard and configured postmaster", () => {
  const c = parseConfig({
    ...base,
    "mailserver:aliases": JSON.stringify([
      { source: "no-reply@example.com", destinations: ["discard"] },
      { source: "postmaster@example.com", destinations: ["ops@elsewhere.org"] },
    ]),
  });
  expect(c.aliases).toEqual([
    { source: "no-reply@example.com", destinations: ["discard"] },
    { source: "postmaster@example.com", destinations: ["ops@elsewhere.org"] },
    { source: "abuse@example.com", destinations: ["alice@example.com"] },
  ]);
});

// ---------- values that reach a map, a passwd-file, a shell or a DNS record ----------

const users = (...list: unknown[]) => ({ "mailserver:users": JSON.stringify(list) });
const aliases = (...list: unknown[]) => ({ "mailserver:aliases": JSON.stringify(list) });

test.each([
  ["mailbox starting with #", users({ address: "#ops@example.com", password: "x" }),
    "mailserver:users[0].address: starts with #, which Postfix maps read as a comment: the address would silently not exist — start it with a letter or digit"],
  ["mailbox with +", users({ address: "alice+tag@example.com", password: "x" }),
    "mailserver:users[0].address: contains + — + is the recipient delimiter (alice+tag@ is delivered to alice@), so Dovecot looks up the part before it and the mail bounces; remove the +"],
  ["mailbox outside auth_username_chars", users({ address: "o'brien@example.com", password: "x" }),
    "mailserver:users[0].address: has characters outside Dovecot's auth_username_chars, so this user could never log in — use only letters, digits, . - _ before the @"],
  ["mailbox with $", users({ address: "a$b@example.com", password: "x" }),
    "mailserver:users[0].address: has characters outside Dovecot's auth_username_chars"],
  ["alias source starting with #", aliases({ source: "#all@example.com", destinations: ["alice@example.com"] }),
    "mailserver:aliases[0].source: starts with #, which Postfix maps read as a comment"],
  ["alias source with +", aliases({ source: "sales+eu@example.com", destinations: ["alice@example.com"] }),
    "mailserver:aliases[0].source: contains + — + is the recipient delimiter"],
  ["catch-all of a domain that is not hosted", aliases({ source: "@other.org", destinations: ["alice@example.com"] }),
    "mailserver:aliases[0].source: @other.org is not in a hosted domain (example.com) — use one of them"],
  ["catch-all without a domain", aliases({ source: "@", destinations: ["alice@example.com"] }),
    "mailserver:aliases[0].source: is not a catch-all of a domain — write @ and the hosted domain, e.g. @example.com"],
  ["catch-all with a malformed domain", aliases({ source: "@exa mple.com", destinations: ["alice@example.com"] }),
    "mailserver:aliases[0].source: is not a catch-all of a domain"],
  ["a second catch-all of the same domain", aliases({ source: "@example.com", destinations: ["alice@example.com"] },
    { source: "@Example.com", destinations: ["alice@example.com"] }),
    "mailserver:aliases[1].source: @example.com is already mailserver:aliases[0] — merge their destinations"],
  ["alias destination starting with #", aliases({ source: "fwd@example.com", destinations: ["#x@elsewhere.org"] }),
    "mailserver:aliases[0].destinations[0]: starts with #, which Postfix maps read as a comment"],
  ["alias destination with a space", aliases({ source: "fwd@example.com", destinations: ["a b@elsewhere.org"] }),
    "mailserver:aliases[0].destinations[0]: is neither an e-mail address nor discard — use an address, or discard to drop the mail"],
  ["alias destination with a comma", aliases({ source: "fwd@example.com", destinations: ["a@elsewhere.org,b@elsewhere.org"] }),
    "mailserver:aliases[0].destinations[0]: is neither an e-mail address nor discard"],
  ["password hash with :", users({ address: "a@example.com", passwordHash: "{ARGON2ID}$argon2id$v=19$m=1:x" }),
    "mailserver:users[0].passwordHash: contains :, whitespace or a control character, which the passwd-file (address:hash) cannot hold — paste the hash exactly as doveadm pw printed it"],
  ["relay username with :", { "mailserver:relayUsername": "user:name" },
    "mailserver:relayUsername: contains :, whitespace or a control character, which sasl_passwd (nexthop user:password) cannot hold — set the SMTP login exactly as Mailgun shows it"],
  ["relay username with a space", { "mailserver:relayUsername": "post master@mg.example.com" },
    "mailserver:relayUsername: contains :, whitespace or a control character"],
  ["relay username with a control character", { "mailserver:relayUsername": "post\u0001master@mg.example.com" },
    "mailserver:relayUsername: contains :, whitespace or a control character"],
  ["relay password with a newline", { "mailserver:relayPassword": "pw\nrelayhost = [evil.example]:25" },
    "mailserver:relayPassword: contains a control character (newline, tab …), which sasl_passwd cannot carry — set a value without one"],
  ["relay password with a trailing space", { "mailserver:relayPassword": "secret " },
    "mailserver:relayPassword: starts or ends with whitespace, which sasl_passwd would strip — set a value without it (it is never trimmed for you)"],
  ["relay password of spaces only", { "mailserver:relayPassword": "   " },
    "mailserver:relayPassword: starts or ends with whitespace, which sasl_passwd would strip"],
  ["API token with a newline", { "cloudflare:apiToken": "token\n" },
    "cloudflare:apiToken: contains a control character (newline, tab …), which the API's Authorization header cannot carry"],
  ["dmarcReportEmail with !", { "mailserver:dmarcReportEmail": "dmarc!reports@example.com" },
    "mailserver:dmarcReportEmail: may only hold letters, digits and . _ + - before the @ (it goes into DNS records and the provisioning script) — use a plain address"],
  ["dmarcReportEmail with a quote", { "mailserver:dmarcReportEmail": "o'brien@example.com" },
    "mailserver:dmarcReportEmail: may only hold letters, digits and . _ + - before the @"],
  ["acmeEmail with a backtick", { "mailserver:acmeEmail": "a`id`@example.com" },
    "mailserver:acmeEmail: may only hold letters, digits and . _ + - before the @"],
  ["alertEmail not an address", { "mailserver:alertEmail": "oncall" },
    "mailserver:alertEmail: is not a valid e-mail address — use local@domain, e.g. oncall@example.org"],
  ["alertEmail in the hosted domain", { "mailserver:alertEmail": "Ops@Example.com" },
    "mailserver:alertEmail: ops@example.com is in the hosted domain example.com, which a broken server could not deliver to — use an address hosted elsewhere"],
  ["alertEmail below a hosted domain", { "mailserver:alertEmail": "root@mail.example.com" },
    "mailserver:alertEmail: root@mail.example.com is in the hosted domain example.com"],
  ["acmeServer over http", { "mailserver:acmeServer": "http://acme.example.com/directory" },
    "mailserver:acmeServer: must be an https:// URL of an ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory"],
  ["acmeServer with a space", { "mailserver:acmeServer": "https://acme.example.com/dir ectory" },
    "mailserver:acmeServer: must be an https:// URL of an ACME directory"],
  // The API key is every request's Authorization header: over http it would cross the network in clear.
  ["mailgunApiUrl over http", { "mailserver:relayUsername": undefined, "mailserver:relayPassword": undefined, "mailserver:mailgunApiKey": "key-x",
    "mailserver:mailgunApiUrl": "http://api.mailgun.example" },
  "mailserver:mailgunApiUrl: must start with https:// — the API key goes in every request's Authorization header, which http would send in clear; " +
    "set the endpoint's https:// address (pulumi config set mailserver:mailgunApiUrl https://…), or remove mailserver:mailgunApiUrl to use the region's API"],
  ["mailgunApiUrl with a path", { "mailserver:relayUsername": undefined, "mailserver:relayPassword": undefined, "mailserver:mailgunApiKey": "key-x",
    "mailserver:mailgunApiUrl": "https://api.mailgun.example/v3" },
  "mailserver:mailgunApiUrl: must be a scheme and host only, e.g. https://api.eu.mailgun.net"],
  ["dnsTtl 30", { "mailserver:dnsTtl": "30" },
    "mailserver:dnsTtl: must be 1 (automatic) or 60–86400 seconds, as Cloudflare requires — e.g. 300"],
  ["extraRecords ttl 2", { "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "www", type: "A", content: "192.0.2.9", ttl: 2 }]) },
    "mailserver:extraRecords[0].ttl: must be 1 (automatic) or 60–86400 seconds, as Cloudflare requires — e.g. 300"],
  ["extraRecords ttl 59", { "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "www", type: "A", content: "192.0.2.9", ttl: 59 }]) },
    "mailserver:extraRecords[0].ttl: must be 1 (automatic) or 60–86400 seconds"],
  ["extraRecords ttl 86401", { "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "www", type: "A", content: "192.0.2.9", ttl: 86401 }]) },
    "mailserver:extraRecords[0].ttl: must be 1 (automatic) or 60–86400 seconds"],
  ["extraRecords content with a newline", { "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "www", type: "TXT", content: "a\nb" }]) },
    "mailserver:extraRecords[0].content: contains a control character (newline?) — write it on one line; long TXT values are split for you"],
  ["extraRecords name with a space", { "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "w ww", type: "A", content: "192.0.2.9" }]) },
    "mailserver:extraRecords[0].name: contains whitespace — a record name is one DNS name, e.g. www or _dmarc.example.com"],
  ["retired selector not a label", { "mailserver:dkimRetiredSelectors": JSON.stringify(["s 1"]) },
    "mailserver:dkimRetiredSelectors[0]: must be one DNS label (letters, digits, dashes), e.g. s1"],
  ["retired selector is the current one", { "mailserver:dkimSelector": "s2", "mailserver:dkimRetiredSelectors": JSON.stringify(["s1", "s2"]) },
    "mailserver:dkimRetiredSelectors[1]: s2 is the current mailserver:dkimSelector — list only selectors you moved away from"],
  ["retired selector listed twice", { "mailserver:dkimSelector": "s3", "mailserver:dkimRetiredSelectors": JSON.stringify(["s1", "s1"]) },
    "mailserver:dkimRetiredSelectors[1]: s1 is already mailserver:dkimRetiredSelectors[0] — remove the duplicate"],
  ["retired selectors not a list", { "mailserver:dkimRetiredSelectors": JSON.stringify("s1") },
    "mailserver:dkimRetiredSelectors: must be a list"],
])("refused: %s", (_name, over, message) => {
  expect(problems(over)).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
});

test("secrets are kept byte for byte, never trimmed", () => {
  const c = parseConfig({ ...base, "mailserver:relayPassword": "a b:c#d\\e'f", ...users({ address: "a@example.com", password: "  spaced  " }) });
  expect(c.relay.password).toBe("a b:c#d\\e'f");
  expect(c.users[0].password).toBe("  spaced  ");
});

test("a refused secret is not echoed in the error", () => {
  const found = problems({ "mailserver:relayPassword": "hunter2-SECRET " });
  expect(found.join("\n")).not.toContain("hunter2-SECRET");
});

test("accepted: the characters each use allows", () => {
  const c = parseConfig({
    ...base,
    ...users({ address: "first.last-2_x@example.com", password: "x" }),
    ...aliases({ source: "o'brien@example.com", destinations: ["first.last-2_x@example.com", "a+tag!{x}@elsewhere.org"] }),
    "mailserver:dmarcReportEmail": "first.last-2_x+reports@example.com",
    "mailserver:acmeEmail": "ops.team_1@example.com",
    "mailserver:dnsTtl": "1",
    "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "www", type: "A", content: "192.0.2.9", ttl: 1 }]),
    "mailserver:dkimSelector": "s2",
    "mailserver:dkimRetiredSelectors": JSON.stringify(["s1"]),
  });
  expect(c.aliases[0].destinations).toEqual(["first.last-2_x@example.com", "a+tag!{x}@elsewhere.org"]);
  expect(c.dnsTtl).toBe(1);
  expect(c.extraRecords[0].ttl).toBe(1);
  expect(c.dkimRetiredSelectors).toEqual(["s1"]);
  expect(parseConfig(base).dkimRetiredSelectors).toEqual([]);
});

test("alertEmail: optional, outside the hosted domains", () => {
  expect(parseConfig(base).alertEmail).toBeUndefined();
  expect(parseConfig({ ...base, "mailserver:alertEmail": "OnCall@Elsewhere.org" }).alertEmail).toBe("oncall@elsewhere.org");
  // A domain that merely ends like a hosted one is outside it.
  expect(parseConfig({ ...base, "mailserver:alertEmail": "a@notexample.com" }).alertEmail).toBe("a@notexample.com");
});

test("every key is declared in Pulumi.yaml and documented in docs/configuration.md", () => {
  const root = join(__dirname, "..", "..");
  const declared = Object.keys((parseYaml(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> }).config);
  const readme = readFileSync(join(root, "docs", "configuration.md"), "utf8");
  for (const key of CONFIG_KEYS.filter((k) => k.startsWith("mailserver:"))) {
    expect(declared).toContain(key);
    expect(readme).toContain(`| \`${key}\` |`);
  }
});

test("filtering and quota keys: defaults, overrides and their checks", () => {
  const c = parseConfig(base);
  expect(c.spam).toEqual({ junkScore: 6, rejectScore: 15, greylisting: false, greylistDelaySeconds: 300 });
  expect(c.mailboxQuotaMb).toBe(2048);
  const o = parseConfig({
    ...base, "mailserver:spamJunkScore": "4", "mailserver:spamRejectScore": "20", "mailserver:greylisting": "true",
    "mailserver:mailboxQuotaMb": "0",
    "mailserver:users": JSON.stringify([{ address: "alice@example.com", password: "pw", quotaMb: 100 }]),
  });
  expect(o.spam).toEqual({ junkScore: 4, rejectScore: 20, greylisting: true, greylistDelaySeconds: 300 });
  expect(o.mailboxQuotaMb).toBe(0);
  expect(o.users[0].quotaMb).toBe(100);

  expect(problems({ "mailserver:spamJunkScore": "15" })).toEqual([
    "mailserver:spamJunkScore: 15 is not below mailserver:spamRejectScore (15) — nothing would ever be filed into Junk; set it lower, e.g. 6 with 15"]);
  expect(problems({ "mailserver:spamRejectScore": "0" })).toEqual(["mailserver:spamRejectScore: must be at least 1"]);
  expect(problems({ "mailserver:spamJunkScore": "5.5" })).toEqual(["mailserver:spamJunkScore: must be a whole number"]);
  expect(problems({ "mailserver:greylisting": "sometimes" })).toEqual(["mailserver:greylisting: must be true or false"]);
  expect(problems({ "mailserver:greylistDelaySeconds": "5" })).toEqual(["mailserver:greylistDelaySeconds: must be at least 10"]);
  expect(problems({ "mailserver:greylistDelaySeconds": "7200" })).toEqual(["mailserver:greylistDelaySeconds: must be at most 3600"]);
  expect(parseConfig({ ...base, "mailserver:greylistDelaySeconds": "60" }).spam.greylistDelaySeconds).toBe(60);
  expect(problems({ "mailserver:mailboxQuotaMb": "1.5" })).toEqual(["mailserver:mailboxQuotaMb: must be a whole number"]);
  expect(problems({ "mailserver:mailboxQuotaMb": "30000" })).toEqual([
    "mailserver:mailboxQuotaMb: 30000 MB is more than the data disk (20480 MB) — lower it or grow mailserver:dataDiskSizeGb"]);
  expect(problems({ "mailserver:users": JSON.stringify([{ address: "alice@example.com", password: "pw", quotaMb: -5 }]) }))
    .toEqual(["mailserver:users[0].quotaMb: must be at least 0"]);
  expect(problems({ "mailserver:users": JSON.stringify([{ address: "alice@example.com", password: "pw", quotaMb: 999999 }]) }))
    .toEqual(["mailserver:users[0].quotaMb: 999999 MB is more than the data disk (20480 MB) — lower it or grow mailserver:dataDiskSizeGb"]);
});

describe("abuse limits", () => {
  test("defaults: ban after 5 failures for 60 minutes, nobody exempt, 200 recipients an hour", () => {
    expect(parseConfig(base).abuse).toEqual({ banAfterFailures: 5, banMinutes: 60, exemptRanges: [], sendLimitPerHour: 200 });
    const o = parseConfig({
      ...base, "mailserver:banAfterFailures": "10", "mailserver:banMinutes": "1440",
      "mailserver:abuseExemptRanges": JSON.stringify(["198.51.100.0/24"]), "mailserver:sendLimitPerHour": "0",
      "mailserver:users": JSON.stringify([{ address: "alice@example.com", password: "pw", sendLimitPerHour: 5 }]),
    });
    expect(o.abuse).toEqual({ banAfterFailures: 10, banMinutes: 1440, exemptRanges: ["198.51.100.0/24"], sendLimitPerHour: 0 });
    expect(o.users[0].sendLimitPerHour).toBe(5);
  });

  test("banAfterFailures: at least 3, a whole number", () => {
    expect(problems({ "mailserver:banAfterFailures": "2" })).toEqual(["mailserver:banAfterFailures: must be at least 3"]);
    expect(problems({ "mailserver:banAfterFailures": "4.5" })).toEqual(["mailserver:banAfterFailures: must be a whole number"]);
  });

  test("banMinutes: at least a minute, at most a year", () => {
    expect(problems({ "mailserver:banMinutes": "0" })).toEqual(["mailserver:banMinutes: must be at least 1"]);
    expect(problems({ "mailserver:banMinutes": "600000" })).toEqual(["mailserver:banMinutes: must be at most 525600"]);
  });

  test("abuseExemptRanges: CIDR blocks, never the whole Internet", () => {
    expect(problems({ "mailserver:abuseExemptRanges": JSON.stringify(["198.51.100.7"]) })).toEqual([
      "mailserver:abuseExemptRanges[0]: 198.51.100.7 is not a CIDR block — write it as address/prefix, e.g. 198.51.100.7/32"]);
    expect(problems({ "mailserver:abuseExemptRanges": JSON.stringify(["192.0.2.1/32", "0.0.0.0/0"]) })).toEqual([
      "mailserver:abuseExemptRanges[1]: 0.0.0.0/0 exempts the whole Internet, which turns the bans and client limits off — list only your own ranges (an office, a monitoring probe)"]);
    expect(problems({ "mailserver:abuseExemptRanges": "192.0.2.1/32" })).toEqual([
      "mailserver:abuseExemptRanges: is not valid JSON — set it as a YAML list in Pulumi.<stack>.yaml or with pulumi config set --path"]);
  });

  test("sendLimitPerHour: 0 (unlimited) or more, also per user", () => {
    expect(problems({ "mailserver:sendLimitPerHour": "-1" })).toEqual(["mailserver:sendLimitPerHour: must be at least 0"]);
    expect(problems({ "mailserver:users": JSON.stringify([{ address: "alice@example.com", password: "pw", sendLimitPerHour: 2.5 }]) }))
      .toEqual(["mailserver:users[0].sendLimitPerHour: must be a whole number"]);
  });
});

test("a catch-all (@domain) of a hosted domain is an alias like the others; none by default", () => {
  expect(parseConfig(base).aliases.some((a) => a.source.startsWith("@"))).toBe(false);
  const c = parseConfig({ ...base, ...aliases({ source: "@Example.com", destinations: ["alice@example.com"] }) });
  expect(c.aliases).toContainEqual({ source: "@example.com", destinations: ["alice@example.com"] });
});
