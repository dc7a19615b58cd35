// The Mailgun API calls the stack makes, through the official client (mailgun.js). Loaded on first use: the dynamic
// providers (mailgun-provider.ts) are serialized into the state and run again from there, where only `require` of a
// package is carried over, not a module object captured at import time.
import type Mailgun from "mailgun.js";
import type { MailgunDnsRecord } from "./core/mailgun";

type MailgunClient = ReturnType<Mailgun["client"]>;

export interface MailgunEndpoint { apiUrl: string; apiKey: string }

/** The domain as GET /v4/domains/{name} answers (the fields the stack reads). */
export interface MailgunDomainInfo {
  name: string;
  state: string;
  sendingRecords: MailgunDnsRecord[];
  receivingRecords: MailgunDnsRecord[];
}

/** A client for one endpoint; mailgun.js takes the account's API key as the password of the user "api". */
export async function mailgunClient(e: MailgunEndpoint): Promise<MailgunClient> {
  // The package's CommonJS export is the class itself (module.exports = Mailgun).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const MailgunClass = require("mailgun.js") as typeof Mailgun;
  return new MailgunClass(FormData).client({ username: "api", key: e.apiKey, url: e.apiUrl, timeout: 30000 });
}

/** The HTTP status of a mailgun.js error (MailgunAPIError), or undefined for anything else. */
export function apiStatus(e: unknown): number | undefined {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === "number" ? s : undefined;
}

/**
 * A request sent on a kept-alive socket that the server had already closed: mailgun.js's axios uses Node's global agent,
 * which keeps sockets alive (Node >= 19), and a request issued right after the event loop was busy for longer than the
 * server's idle timeout (Node's http server: 5 s) goes out on the closed socket before the loop has read the server's
 * FIN, and fails with ECONNRESET ("socket hang up") without reaching the server.
 */
const isStaleSocket = (e: unknown): boolean => {
  const d = e as { message?: unknown; details?: unknown } | null;
  return /ECONNRESET|socket hang up/.test(`${String(d?.message)} ${String(d?.details)}`);
};

/**
 * Runs an idempotent call (GET, PUT, DELETE) once more after a stale socket. The two POSTs (createDomain,
 * createCredential) are not retried: the providers make them right after a read, which leaves no idle socket.
 */
async function idempotent<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (!isStaleSocket(e)) throw e;
    return call();
  }
}

/** An error that says what was asked of whom and what to do, never the key. */
export function apiError(what: string, e: unknown, endpoint: MailgunEndpoint): Error {
  const status = apiStatus(e);
  const detail = (e as { details?: unknown; message?: unknown } | null);
  const text = [detail?.message, detail?.details].filter((x) => typeof x === "string" && x !== "").join(": ");
  if (status === 401 || status === 403) {
    return new Error(`Mailgun refused the API key at ${endpoint.apiUrl} (${status}) while trying to ${what} — check mailserver:mailgunApiKey ` +
      "(a private API key from Mailgun's console, API Security) and mailserver:mailgunRegion (an EU account's key is refused by the US API)");
  }
  return new Error(`Mailgun could not ${what} at ${endpoint.apiUrl}: ${status ?? ""} ${text || String(e)}`.replace(/\s+/g, " ").trim());
}

const toInfo = (d: { name: string; state: string; sending_dns_records: MailgunDnsRecord[] | null; receiving_dns_records: MailgunDnsRecord[] | null }): MailgunDomainInfo =>
  ({ name: d.name, state: d.state, sendingRecords: d.sending_dns_records ?? [], receivingRecords: d.receiving_dns_records ?? [] });

/** The domain, or undefined when Mailgun has none of that name (404). */
export async function getDomain(e: MailgunEndpoint, name: string): Promise<MailgunDomainInfo | undefined> {
  const mg = await mailgunClient(e);
  try {
    return toInfo(await idempotent(() => mg.domains.get(name)));
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw apiError(`read the domain ${name}`, err, e);
  }
}

export async function createDomain(e: MailgunEndpoint, name: string, dkimSelector: string, spamAction: string): Promise<MailgunDomainInfo> {
  const mg = await mailgunClient(e);
  try {
    await mg.domains.create({ name, dkim_selector: dkimSelector, spam_action: spamAction as "disabled" });
  } catch (err) {
    throw apiError(`create the domain ${name}`, err, e);
  }
  const made = await getDomain(e, name);
  if (!made) throw new Error(`Mailgun created the domain ${name} but does not list it`);
  return made;
}

export async function verifyDomain(e: MailgunEndpoint, name: string): Promise<MailgunDomainInfo> {
  const mg = await mailgunClient(e);
  try {
    return toInfo(await idempotent(() => mg.domains.verify(name)));
  } catch (err) {
    throw apiError(`verify the domain ${name}`, err, e);
  }
}

/** Deletes the domain; one already gone is fine. */
export async function deleteDomain(e: MailgunEndpoint, name: string): Promise<void> {
  const mg = await mailgunClient(e);
  try {
    await idempotent(() => mg.domains.destroy(name));
  } catch (err) {
    if (apiStatus(err) !== 404) throw apiError(`delete the domain ${name}`, err, e);
  }
}

/** Whether the domain has an SMTP credential of this login (a full address, as the API lists it). */
export async function credentialExists(e: MailgunEndpoint, domain: string, login: string): Promise<boolean> {
  const mg = await mailgunClient(e);
  try {
    const list = await idempotent(() => mg.domains.domainCredentials.list(domain, { limit: 1000, skip: 0 }));
    return list.items.some((c) => c.login === login);
  } catch (err) {
    if (apiStatus(err) === 404) return false;
    throw apiError(`list the SMTP credentials of ${domain}`, err, e);
  }
}

export async function createCredential(e: MailgunEndpoint, domain: string, login: string, password: string): Promise<void> {
  const mg = await mailgunClient(e);
  try {
    await mg.domains.domainCredentials.create(domain, { login, password });
  } catch (err) {
    throw apiError(`create the SMTP credential ${login}`, err, e);
  }
}

export async function setCredentialPassword(e: MailgunEndpoint, domain: string, login: string, password: string): Promise<void> {
  const mg = await mailgunClient(e);
  try {
    await idempotent(() => mg.domains.domainCredentials.update(domain, login, { password }));
  } catch (err) {
    throw apiError(`change the password of the SMTP credential ${login}`, err, e);
  }
}

/** Deletes the credential; one already gone is fine. */
export async function deleteCredential(e: MailgunEndpoint, domain: string, login: string): Promise<void> {
  const mg = await mailgunClient(e);
  try {
    await idempotent(() => mg.domains.domainCredentials.destroy(domain, login));
  } catch (err) {
    if (apiStatus(err) !== 404) throw apiError(`delete the SMTP credential ${login}`, err, e);
  }
}
