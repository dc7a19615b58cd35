// The keys of inbound transport security: MTA-STS mode and max_age, the CAA issuer, the report address.
import { parseConfig } from "../../components/core/config";
import { MINIMAL_RAW, problems } from "../fixtures/config";

test("defaults: MTA-STS testing for a week, CAA for Let's Encrypt, reports to postmaster@", () => {
  const c = parseConfig(MINIMAL_RAW);
  expect(c.mtaSts).toEqual({ mode: "testing", maxAge: 604800 });
  expect(c.caaIssuer).toBe("letsencrypt.org");
  expect(c.dmarcReportEmail).toBe("postmaster@example.com");
});

test("the CAA issuer follows the ACME server: Let's Encrypt staging too; none may issue for self-signed", () => {
  const staging = "https://acme-staging-v02.api.letsencrypt.org/directory";
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:acmeServer": staging }).caaIssuer).toBe("letsencrypt.org");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:tls": "self-signed" }).caaIssuer).toBe(";");
  const other = { "mailserver:acmeServer": "https://acme.sectigo.com/v2/DV", "mailserver:caaIssuer": "Sectigo.com" };
  expect(parseConfig({ ...MINIMAL_RAW, ...other }).caaIssuer).toBe("sectigo.com");
});

test("mtaStsMode and mtaStsMaxAge are checked", () => {
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:mtaStsMode": "enforce", "mailserver:mtaStsMaxAge": "86400" }).mtaSts)
    .toEqual({ mode: "enforce", maxAge: 86400 });
  expect(problems({ "mailserver:mtaStsMode": "strict" })).toEqual(["mailserver:mtaStsMode: must be one of testing, enforce, none"]);
  expect(problems({ "mailserver:mtaStsMaxAge": "3600" })).toEqual(["mailserver:mtaStsMaxAge: must be at least 86400"]);
  expect(problems({ "mailserver:mtaStsMaxAge": "31557601" })).toEqual(["mailserver:mtaStsMaxAge: must be at most 31557600"]);
});

test("another ACME CA needs caaIssuer, or the CAA records would forbid it to issue", () => {
  expect(problems({ "mailserver:acmeServer": "https://acme.sectigo.com/v2/DV" })).toEqual([
    "mailserver:caaIssuer: is required when mailserver:acmeServer (https://acme.sectigo.com/v2/DV) is not Let's Encrypt — set the CA's CAA identifier from its documentation (e.g. sectigo.com), or the CAA records would forbid it to issue"]);
  expect(problems({ "mailserver:caaIssuer": "not a domain" })).toEqual([
    "mailserver:caaIssuer: is not a valid domain name — use lower-case labels like example.com"]);
});

test("the report address must receive mail: a hosted address is a user or an alias", () => {
  expect(problems({ "mailserver:dmarcReportEmail": "reports@example.com" })).toEqual([
    "mailserver:dmarcReportEmail: reports@example.com is in a hosted domain but is neither a user nor an alias, so DMARC and TLS-RPT reports to it would bounce — add it to mailserver:users or mailserver:aliases, or name an address that receives mail"]);
  // Without users there is no postmaster@ alias (it goes to the first user): an address set on purpose is
  // refused; the default is left to a server that has no mailbox yet (it receives nothing at all).
  expect(problems({ "mailserver:users": "[]", "mailserver:dmarcReportEmail": "postmaster@example.com" }))
    .toEqual([expect.stringMatching(/^mailserver:dmarcReportEmail: postmaster@example.com is in a hosted domain but is neither a user nor an alias/)]);
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:users": "[]" }).dmarcReportEmail).toBe("postmaster@example.com");
  // Accepted: an alias, a user's +tag, an outside address.
  const alias = { "mailserver:aliases": JSON.stringify([{ source: "reports@example.com", destinations: ["alice@example.com"] }]) };
  expect(parseConfig({ ...MINIMAL_RAW, ...alias, "mailserver:dmarcReportEmail": "reports@example.com" }).dmarcReportEmail).toBe("reports@example.com");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:dmarcReportEmail": "alice+dmarc@example.com" }).dmarcReportEmail).toBe("alice+dmarc@example.com");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:dmarcReportEmail": "dmarc@reports.example.net" }).dmarcReportEmail).toBe("dmarc@reports.example.net");
});
