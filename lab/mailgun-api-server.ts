// The Mailgun API stand-in: the calls the stack makes (components/mailgun-api.ts), on the same paths and with the same
// JSON shapes as api.mailgun.net, behind the same Basic auth (user "api", the API key as password), over HTTPS only, as
// the stack accepts no other (mailgunApiUrl), with a certificate of the lab CA (lab/ca.ts). It keeps domains and
// SMTP credentials in a JSON store (passwords as scrypt hashes) that the relay stand-in (relay-server.ts) reads to decide
// who may log in, and verifies a domain only when the DNS server it is given really serves the records it asked for.
import { generateKeyPairSync, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { Resolver } from "node:dns/promises";
import * as fs from "node:fs";
import type * as http from "node:http";
import * as https from "node:https";
import type { MailgunDnsRecord } from "../components/core/mailgun";
import { writeFileAtomic } from "./write-file";

export interface StoredCredential { login: string; salt: string; hash: string; createdAt: string }
export interface StoredDomain {
  name: string;
  state: "unverified" | "active";
  createdAt: string;
  dkimSelector: string;
  dkimPublicKey: string;
  spamAction: string;
  credentials: StoredCredential[];
}
export interface MailgunStore { domains: Record<string, StoredDomain> }

export interface MailgunApiConfig {
  host: string;
  port: number;
  apiKey: string;
  /** The JSON store, shared with the relay stand-in. */
  store: string;
  /** The DNS server that verification asks ("ip" or "ip:port"). */
  dns: string;
  /** PEM files: the server certificate the lab CA signed for the listening address, and its key. */
  cert: string;
  key: string;
}

/** The server's certificate and key (PEM text). */
export interface ServerTls { cert: string | Buffer; key: string | Buffer }

/** Looks a name up: TXT strings joined per record, or MX exchanges. */
export type Lookup = (name: string, type: "TXT" | "MX") => Promise<string[]>;

export function dnsLookup(server: string): Lookup {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([server]);
  return async (name, type) => {
    try {
      if (type === "TXT") return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(""));
      return (await resolver.resolveMx(name)).map((mx) => mx.exchange.replace(/\.$/, ""));
    } catch {
      return [];
    }
  };
}

export const loadStore = (file: string): MailgunStore =>
  (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) as MailgunStore : { domains: {} });
function saveStore(file: string, s: MailgunStore): void {
  writeFileAtomic(file, JSON.stringify(s, null, 2), 0o600);
}

const hashOf = (password: string, salt: string): string => scryptSync(password, salt, 32).toString("hex");
/** Whether the store holds this login with this password (the relay stand-in's AUTH check). */
export function credentialValid(s: MailgunStore, login: string, password: string): boolean {
  const domain = s.domains[login.slice(login.lastIndexOf("@") + 1)];
  const c = domain?.credentials.find((x) => x.login === login);
  if (!c) return false;
  return timingSafeEqual(Buffer.from(hashOf(password, c.salt), "hex"), Buffer.from(c.hash, "hex"));
}

/**
 * A credential made by hand in Mailgun's console, as a user of the hand-typed mode (relayUsername, relayPassword) has
 * one: its domain is added, already verified, when the store lacks it. The login's password is set to this one.
 */
export function seedCredential(file: string, login: string, password: string): void {
  const store = loadStore(file);
  const name = login.slice(login.lastIndexOf("@") + 1);
  const d = store.domains[name] ??= newDomain(name, "pic", "disabled");
  d.state = "active";
  const salt = randomBytes(16).toString("hex");
  d.credentials = [...d.credentials.filter((c) => c.login !== login), { login, salt, hash: hashOf(password, salt), createdAt: new Date().toUTCString() }];
  saveStore(file, store);
}

function newDomain(name: string, dkimSelector: string, spamAction: string): StoredDomain {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    name, state: "unverified", createdAt: new Date().toUTCString(), dkimSelector,
    dkimPublicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"), spamAction, credentials: [],
  };
}

/** The records Mailgun asks for, as its API lists them (sending: SPF, DKIM, tracking CNAME; receiving: two MX). */
function dnsRecords(d: StoredDomain, valid: Record<string, boolean> = {}): { sending: MailgunDnsRecord[]; receiving: MailgunDnsRecord[] } {
  const v = (key: string) => (valid[key] ? "valid" : "unknown");
  return {
    sending: [
      { record_type: "TXT", name: d.name, value: "v=spf1 include:mailgun.org ~all", valid: v("spf") },
      { record_type: "TXT", name: `${d.dkimSelector}._domainkey.${d.name}`, value: `k=rsa; p=${d.dkimPublicKey}`, valid: v("dkim") },
      { record_type: "CNAME", name: `email.${d.name}`, value: "mailgun.org", valid: "unknown" },
    ],
    receiving: [
      { record_type: "MX", value: "mxa.mailgun.org", priority: "10", valid: v("mxa") },
      { record_type: "MX", value: "mxb.mailgun.org", priority: "10", valid: v("mxb") },
    ],
  };
}

async function check(d: StoredDomain, lookup: Lookup): Promise<Record<string, boolean>> {
  const { sending } = dnsRecords(d);
  const txt = await lookup(d.name, "TXT");
  const dkim = await lookup(`${d.dkimSelector}._domainkey.${d.name}`, "TXT");
  const mx = await lookup(d.name, "MX");
  return { spf: txt.includes(sending[0].value), dkim: dkim.includes(sending[1].value), mxa: mx.includes("mxa.mailgun.org"), mxb: mx.includes("mxb.mailgun.org") };
}

function domainBody(d: StoredDomain, valid?: Record<string, boolean>) {
  const r = dnsRecords(d, valid ?? (d.state === "active" ? { spf: true, dkim: true, mxa: true, mxb: true } : {}));
  return {
    domain: {
      name: d.name, state: d.state, created_at: d.createdAt, spam_action: d.spamAction, smtp_login: `postmaster@${d.name}`,
      type: "custom", wildcard: false, require_tls: false, skip_verification: false, is_disabled: false, web_prefix: "email",
      web_scheme: "https", use_automatic_sender_security: false, id: d.name,
    },
    sending_dns_records: r.sending,
    receiving_dns_records: r.receiving,
  };
}

async function formOf(req: http.IncomingMessage, body: Buffer): Promise<Record<string, string>> {
  const type = req.headers["content-type"] ?? "";
  if (body.length === 0) return {};
  if (type.startsWith("application/json")) return JSON.parse(body.toString("utf8")) as Record<string, string>;
  const form = await new Response(body, { headers: { "content-type": type } }).formData();
  return Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v)]));
}

export function mailgunApi(cfg: Pick<MailgunApiConfig, "apiKey" | "store">, lookup: Lookup, tls: ServerTls): https.Server {
  const expected = `Basic ${Buffer.from(`api:${cfg.apiKey}`).toString("base64")}`;
  return https.createServer({ cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      handle(req, Buffer.concat(chunks)).then(([status, body]) => send(status, body), (e: unknown) => send(500, { message: String(e) }));
    });
  });

  async function handle(req: http.IncomingMessage, body: Buffer): Promise<[number, unknown]> {
    // Mailgun answers a wrong or missing key with 401 and the text Forbidden.
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return [401, "Forbidden"];
    const url = new URL(req.url ?? "/", "http://stand-in");
    const path = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const store = loadStore(cfg.store);
    const notFound: [number, unknown] = [404, { message: "Domain not found" }];
    const method = req.method ?? "GET";

    // /v4/domains, /v4/domains/{name}, /v4/domains/{name}/verify
    if (path[0] === "v4" && path[1] === "domains") {
      const name = path[2];
      if (name === undefined && method === "POST") {
        const f = await formOf(req, body);
        if (!f.name) return [400, { message: "Missing parameter 'name'" }];
        if (store.domains[f.name]) return [400, { message: "This domain name is already taken" }];
        const d = newDomain(f.name, f.dkim_selector || "pic", f.spam_action || "disabled");
        store.domains[d.name] = d;
        saveStore(cfg.store, store);
        return [200, { message: "Domain DNS records have been created", ...domainBody(d) }];
      }
      const d = name === undefined ? undefined : store.domains[name];
      if (!d) return notFound;
      if (path[3] === undefined && method === "GET") return [200, domainBody(d)];
      if (path[3] === "verify" && method === "PUT") {
        const valid = await check(d, lookup);
        d.state = Object.values(valid).every(Boolean) ? "active" : "unverified";
        saveStore(cfg.store, store);
        return [200, { message: d.state === "active" ? "Domain DNS records have been updated" : "Domain DNS records have been updated", ...domainBody(d, valid) }];
      }
    }
    // /v3/domains/{name}, /v3/domains/{name}/credentials[/{login}]
    if (path[0] === "v3" && path[1] === "domains" && path[2] !== undefined) {
      const d = store.domains[path[2]];
      if (!d) return notFound;
      if (path[3] === undefined && method === "DELETE") {
        delete store.domains[d.name];
        saveStore(cfg.store, store);
        return [200, { message: "Domain has been deleted" }];
      }
      if (path[3] === "credentials") {
        const login = path[4];
        if (login === undefined && method === "GET") {
          const items = d.credentials.map((c) => ({ created_at: c.createdAt, login: c.login, mailbox: c.login, size_bytes: null }));
          return [200, { total_count: items.length, items }];
        }
        if (login === undefined && method === "POST") {
          const f = await formOf(req, body);
          const full = f.login?.includes("@") ? f.login : `${f.login}@${d.name}`;
          if (!f.login || !f.password) return [400, { message: "Missing parameter 'login' or 'password'" }];
          if (d.credentials.some((c) => c.login === full)) return [409, { message: `Credentials for ${full} already exist` }];
          const salt = randomBytes(16).toString("hex");
          d.credentials.push({ login: full, salt, hash: hashOf(f.password, salt), createdAt: new Date().toUTCString() });
          saveStore(cfg.store, store);
          return [200, { message: "Created 1 credentials pair(s)" }];
        }
        const c = d.credentials.find((x) => x.login === login || x.login === `${login}@${d.name}`);
        if (!c) return [404, { message: "Credentials not found" }];
        if (method === "PUT") {
          const f = await formOf(req, body);
          if (!f.password) return [400, { message: "Missing parameter 'password'" }];
          c.salt = randomBytes(16).toString("hex");
          c.hash = hashOf(f.password, c.salt);
          saveStore(cfg.store, store);
          return [200, { message: "Password changed" }];
        }
        if (method === "DELETE") {
          d.credentials = d.credentials.filter((x) => x !== c);
          saveStore(cfg.store, store);
          return [200, { message: "Credentials have been deleted", spec: c.login }];
        }
      }
    }
    return [404, { message: "Not Found" }];
  }
}

function main(): void {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as MailgunApiConfig;
  const server = mailgunApi(cfg, dnsLookup(cfg.dns), { cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) });
  // What it was asked and answered (never a header or body: they hold the key and passwords), and malformed requests.
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.on("finish", () => process.stderr.write(`${new Date().toISOString()} ${req.method ?? ""} ${req.url ?? ""} ${res.statusCode}\n`));
  });
  server.on("clientError", (e: Error) => process.stderr.write(`${new Date().toISOString()} client error: ${e.message}\n`));
  server.listen(cfg.port, cfg.host, () => process.stderr.write(`mailgun API stand-in on ${cfg.host}:${cfg.port}\n`));
}

if (require.main === module) main();
