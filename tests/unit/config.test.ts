import { ConfigError, parseConfig } from "../../components/core/config";
import { MINIMAL_RAW } from "../fixtures/config";

const base = MINIMAL_RAW;

function problems(over: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...base, ...over });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

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
    "mailserver:domain", "mailserver:zoneId", "mailserver:relayUsername", "mailserver:relayPassword",
    "mailserver:sshSourceRanges", "gcp:project", "gcp:zone", "cloudflare:apiToken",
  ]));
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
