// Stack configs for the mock runs: raw values as the Pulumi CLI hands them over (lists as JSON text).
export const RELAY_MARKER = "relay-MARKER-7f3a9c";
export const USER_MARKER = "user-MARKER-b81d2e";

export function stackConfig(over: Record<string, unknown> = {}): Record<string, string> {
  const base: Record<string, unknown> = {
    "mailserver:domain": "example.com",
    "mailserver:zoneId": "zone-example",
    "mailserver:extraDomains": [{ name: "example.org", zoneId: "zone-org" }],
    "mailserver:relayUsername": "postmaster@mg.example.com",
    "mailserver:relayPassword": RELAY_MARKER,
    "mailserver:sshSourceRanges": ["203.0.113.4/32", "198.51.100.0/24"],
    "mailserver:users": [
      { address: "alice@example.com", password: USER_MARKER },
      { address: "bob@example.org", passwordHash: "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$X0lEoAFV8qiz9bsXaWX0lCUGVPcbHXTyc5X+6lSAk3w" },
    ],
    "mailserver:aliases": [{ source: "no-reply@example.com", destinations: ["discard"] }],
    "mailserver:tls": "self-signed",
    "gcp:project": "proj",
    "gcp:zone": "europe-west1-b",
    "cloudflare:apiToken": "cf-token",
    ...over,
  };
  return Object.fromEntries(Object.entries(base)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
