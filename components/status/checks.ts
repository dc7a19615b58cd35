// Runs every status check against one deployed server: DNS from its authoritative servers, the ports from
// outside, the server itself over SSH. The same checks for a Pulumi stack and for the lab; only the target
// (how to reach it) differs.
import { X509Certificate } from "node:crypto";
import { promises as dnsp } from "node:dns";
import { isIPv4 } from "node:net";
import * as tls from "node:tls";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import type { MailStackConfig } from "../core/config";
import { spkiSha256, tlsaName } from "../core/dane";
import { dkimSelectors } from "../core/dkim";
import { mtaStsHost } from "../core/mta-sts";
import { acmeHttpPorts, MAIL_PORTS, WEB_PORTS } from "../core/ports";
import { DkimPublicKeys, planRecords, RecordSpec, SPF_MAX_LOOKUPS, zoneFor } from "../core/records";
import {
  assessBlocklist, assessCertificate, assessForgedProbe, assessHelo, assessPtr, assessRelayProbe, assessSubmissionFailure, EnvelopeSeen,
} from "./assess";
import { served, txtLookup } from "./dns";
import { parseDmarc, parseTlsRpt } from "./policy-records";
import { compareRecordSet, recordSets, Served } from "./record-compare";
import { CheckResult, error, ok, parseSelfcheck, skip } from "./result";
import { MANAGESIEVE_PORT, sieveStartTls } from "./sieve-probe";
import { SmtpProbe, TlsOptions, portOpen } from "./smtp-probe";
import { countSpfLookups, TxtAnswer } from "./spf";
import { assessTlsa, assessTlsaValidation, daneSkipped, Presented } from "./tlsa";
import { queryTlsa } from "./tlsa-query";

export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StatusTarget {
  config: MailStackConfig;
  ip: string;
  /** Runs a bash script as root on the server (SSH as the deploy user, sudo -n), the script on stdin. */
  onServer(script: string): Promise<RemoteResult>;
  /** A resolver asking only the authoritative servers of a hosted zone (never a cache). */
  authoritative(zone: string): Promise<dnsp.Resolver>;
  /** For names outside the hosted zones (SPF includes, the PTR, blocklists). */
  resolver: dnsp.Resolver;
  /** Why the blocklists are not asked (the lab never asks outside), or undefined to ask them. */
  blocklistsSkipped?: string;
  /** PEM roots the server's certificate must chain to; the system's when absent. */
  tlsCa?: string;
  /** Our name in EHLO: an FQDN (the server refuses others) that is not the server's. */
  ehloName: string;
  /** An address in a domain the server does not host, for the open-relay probe. */
  outsideAddress: string;
  /** The mailbox of the round trip, or why there is none. */
  mailbox: { address: string; password: string } | { none: string };
  /** A validating resolver ("address" or "address:port"), asked whether it authenticates the TLSA record (AD). */
  validatingResolver: string[];
  /** The TLSA records the stack published ("3 1 1 <hex>"), or why they are not known here. */
  tlsaPlanned: string[] | { unknown: string };
}

const TIMEOUT_MS = 10_000;
/** Ports that must not answer from outside: plaintext IMAP/POP3, LMTP, ManageSieve, the milters, redis … */
const CLOSED_PORTS = [21, 23, 24, 110, 143, 389, 3306, 6379, 8891, 10024, 11332, 11333, 11334, 12340];
export const BLOCKLISTS = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"];

export async function runChecks(t: StatusTarget): Promise<CheckResult[]> {
  const keys = await serverDkimKeys(t);
  const mailTls = Promise.all(MAIL_PORTS.map((port) => tlsCheck(t, port)));
  const results = await Promise.all([
    dnsChecks(t, keys),
    // Port 25's key, as the TLS check saw it, against its TLSA records.
    mailTls.then((seen) => daneChecks(t, seen[MAIL_PORTS.indexOf(25)].spki)),
    mailTls.then((seen) => seen.map((s) => s.result)),
    // 443 serves the same certificate; senders fetching the MTA-STS policy check it for mta-sts.<domain>.
    Promise.all(WEB_PORTS.map(async (port) => (await tlsCheck(t, port, mtaStsHost(t.config.domain))).result)),
    closedPortsCheck(t),
    smtpChecks(t),
    roundTrip(t),
    insideChecks(t),
    reverseAndBlocklists(t),
  ]);
  return [...keys.results, ...results.flat()];
}

// ---------- DKIM keys on the server ----------

interface ServerKeys {
  /** domain → selector → base64 DER public key, as the server holds them. */
  keys: DkimPublicKeys;
  results: CheckResult[];
}

/** The public halves of the keys OpenDKIM signs with: derived on the server, the private keys stay there. */
async function serverDkimKeys(t: StatusTarget): Promise<ServerKeys> {
  const r = await t.onServer(`for f in /etc/opendkim/keys/*/*.private; do
  [ -f "$f" ] || continue
  d=\${f%/*}; s=\${f##*/}
  printf '%s %s %s\\n' "\${d##*/}" "\${s%.private}" "$(openssl pkey -in "$f" -pubout -outform DER | base64 -w0)"
done`);
  if (r.code !== 0) {
    return { keys: {}, results: [error("ssh", `could not read the DKIM keys over SSH (exit ${r.code}: ${r.stderr.trim().split("\n").pop()}) — check the SSH key, sshSourceRanges and that the VM runs`)] };
  }
  const keys: DkimPublicKeys = {};
  for (const line of r.stdout.split("\n").filter((l) => l.trim() !== "")) {
    const [domain, selector, key] = line.split(" ");
    (keys[domain] ??= {})[selector] = key;
  }
  return { keys, results: [ok("ssh", "the server answers over SSH")] };
}

// ---------- DNS ----------

async function dnsChecks(t: StatusTarget, server: ServerKeys): Promise<CheckResult[]> {
  const resolvers = new Map<string, Promise<dnsp.Resolver>>();
  const cache = new Map<string, Promise<Served>>();
  const ask = (zone: string, name: string, type: RecordSpec["type"]): Promise<Served> => {
    const resolver = resolvers.get(zone) ?? t.authoritative(zone);
    resolvers.set(zone, resolver);
    const answer = cache.get(`${type} ${name}`) ?? resolver.then((r) => served(r, name, type), (e: Error) => ({ failed: e.message }));
    cache.set(`${type} ${name}`, answer);
    return answer;
  };

  // Retired selectors' keys are not on the server any more: their records are compared with themselves,
  // i.e. only their presence is checked.
  const keys: DkimPublicKeys = {};
  for (const d of t.config.domains) {
    keys[d.name] = {};
    for (const selector of dkimSelectors(t.config)) {
      const onServer = server.keys[d.name]?.[selector];
      const published = dkimKey(await ask(d.name, `${selector}._domainkey.${d.name}`, "TXT"));
      keys[d.name][selector] = onServer ?? published ?? "missing";
    }
  }
  // Each planned name and type compared as a set; at a name we give an address, the other family must be absent
  // (an AAAA beside our A sends IPv6 clients elsewhere), unless planned too.
  const sets = recordSets(planRecords(t.config, t.ip, keys));
  const otherFamily = { A: "AAAA", AAAA: "A" } as const;
  const results = (await Promise.all(sets.map(async (set) => {
    const result = compareRecordSet(set, await ask(set.zone, set.name, set.type));
    const other = set.type === "A" || set.type === "AAAA" ? otherFamily[set.type] : undefined;
    if (other === undefined || sets.some((s) => s.name === set.name && s.type === other)) return [result];
    const absent = compareRecordSet({ ...set, type: other, values: [] }, await ask(set.zone, set.name, other));
    return absent.status === "ok" ? [result] : [result, absent];
  }))).flat();

  for (const d of t.config.domains) {
    const name = `${t.config.dkimSelector}._domainkey.${d.name}`;
    const id = `dkim:${d.name}`;
    const onServer = server.keys[d.name]?.[t.config.dkimSelector];
    const published = dkimKey(await ask(d.name, name, "TXT"));
    if (onServer === undefined) results.push(error(id, `the server has no key for selector ${t.config.dkimSelector} — run pulumi up`));
    else if (published === undefined) results.push(error(id, `${name} publishes no DKIM key — run pulumi up`));
    else if (published !== onServer) results.push(error(id, `${name} does not publish the key the server signs with: receivers fail every signature — run pulumi up`));
    else results.push(ok(id, `${name} publishes the key the server signs with`));

    results.push(await spfCheck(t, d.name, ask));
    results.push(policyCheck(`dmarc:${d.name}`, await ask(d.name, `_dmarc.${d.name}`, "TXT"), /^v=DMARC1\b/i, (v) => {
      const p = parseDmarc(v);
      return "problem" in p ? p : { found: `p=${p.p}, reports to ${p.rua.join(", ") || "nobody"}` };
    }));
    results.push(policyCheck(`tls-rpt:${d.name}`, await ask(d.name, `_smtp._tls.${d.name}`, "TXT"), /^v=TLSRPTv1\b/i, (v) => {
      const p = parseTlsRpt(v);
      return "problem" in p ? p : { found: `reports to ${p.rua.join(", ")}` };
    }));
  }
  return results;
}

function dkimKey(s: Served): string | undefined {
  if (!("values" in s)) return undefined;
  const record = s.values.find((v) => /^v=DKIM1\b/i.test(v));
  return record === undefined ? undefined : /(?:^|;)\s*p=([^;]*)/.exec(record)?.[1].replace(/\s+/g, "");
}

/** Exactly one record of a kind at a name, and it parses. */
function policyCheck(id: string, s: Served, kind: RegExp, parse: (record: string) => { problem: string } | { found: string }): CheckResult {
  const records = "values" in s ? s.values.filter((v) => kind.test(v)) : [];
  const fix = "run pulumi up to publish the planned record";
  if (records.length !== 1) return error(id, `${records.length} records found, receivers need exactly one — ${fix}`);
  const parsed = parse(records[0]);
  return "problem" in parsed ? error(id, `${parsed.problem} — ${fix}`) : ok(id, parsed.found);
}

/** The TLSA records of port 25 (DANE), when mailserver:dnssec is on: from the authoritative servers, then validated. */
async function daneChecks(t: StatusTarget, presented: Presented): Promise<CheckResult[]> {
  const name = tlsaName(t.config.hostname);
  if (!t.config.dnssec) return daneSkipped(name);
  const zone = zoneFor(t.config, t.config.hostname);
  const authoritative: Served = zone
    ? await t.authoritative(zone.name).then((r) => served(r, name, "TLSA"), (e: Error) => ({ failed: e.message }))
    : { failed: `no hosted zone holds ${t.config.hostname}` };
  const validated = await queryTlsa(t.validatingResolver, name, TIMEOUT_MS).catch((e: Error) => ({ failed: e.message }));
  return [
    assessTlsa({ name, served: authoritative, presented, planned: t.tlsaPlanned }),
    assessTlsaValidation(name, t.validatingResolver.join(", "), validated),
  ];
}

async function spfCheck(t: StatusTarget, domain: string, ask: (zone: string, name: string, type: "TXT") => Promise<Served>): Promise<CheckResult> {
  const outside = txtLookup(t.resolver);
  // Names in the hosted zones are asked of their authoritative servers; the rest (includes) of the resolver.
  const lookup = async (name: string): Promise<TxtAnswer> => {
    const zone = zoneFor(t.config, name);
    if (!zone) return outside(name);
    const s = await ask(zone.name, name, "TXT");
    return "values" in s ? { records: s.values } : "missing" in s ? { missing: true } : { unreachable: s.failed };
  };
  const count = await countSpfLookups(domain, lookup);
  const id = `spf:${domain}`;
  const notes = count.notes.length > 0 ? ` (not followed: ${count.notes.join("; ")})` : "";
  if (count.problems.length > 0) return error(id, `${count.problems.join("; ")}: receivers return permerror — fix the record or the include`);
  if (count.lookups > SPF_MAX_LOOKUPS) return error(id, `${count.lookups} DNS lookups, more than ${SPF_MAX_LOOKUPS}: receivers return permerror — replace includes by ip4: ranges`);
  return ok(id, `${count.lookups} of ${SPF_MAX_LOOKUPS} DNS lookups${notes}`);
}

// ---------- ports, from outside ----------

function tlsOptions(t: StatusTarget, servername: string): TlsOptions {
  return { servername, ...(t.tlsCa ? { ca: t.tlsCa } : {}) };
}

/** TLS on one port, the certificate checked for `name` (the hostname on the mail ports). */
async function tlsCheck(t: StatusTarget, port: number, name = t.config.hostname): Promise<{ result: CheckResult; spki: Presented }> {
  const id = `tls:${port}`;
  const failed = (result: CheckResult) => ({ result, spki: { failed: result.message } });
  const starttls = port === 25 || port === 587;
  let probe: SmtpProbe | undefined;
  let socket: tls.TLSSocket | undefined;
  try {
    if (starttls) {
      probe = (await SmtpProbe.open(t.ip, port, TIMEOUT_MS)).probe;
      await probe.command(`EHLO ${t.ehloName}`);
      const r = await probe.startTls(tlsOptions(t, name));
      if (r.code !== 220) return failed(error(id, `STARTTLS refused (${r.text}) — check smtpd_tls_* settings (pulumi up)`));
      socket = probe.tlsSocket;
    } else if (port === MANAGESIEVE_PORT) {
      socket = await sieveStartTls(t.ip, port, tlsOptions(t, name), TIMEOUT_MS);
    } else {
      socket = await implicitTls(t.ip, port, tlsOptions(t, name));
    }
    if (!socket) return failed(error(id, "no TLS session"));
    const cert = socket.getPeerCertificate();
    const hostnameError = tls.checkServerIdentity(name, cert);
    const result = assessCertificate({
      port, hostname: name, validTo: new Date(cert.valid_to), protocol: socket.getProtocol(), now: new Date(),
      ...(socket.authorized ? {} : { authorizationError: String(socket.authorizationError) }),
      ...(hostnameError ? { hostnameError: hostnameError.message } : {}),
    });
    return { result, spki: { spki: spkiSha256(String(new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "pem" }))) } };
  } catch (e) {
    return failed(error(id, `no TLS on port ${port} (${(e as Error).message}) — check that the daemon runs and the firewall lets ${port} in`));
  } finally {
    probe?.close();
    socket?.destroy();
  }
}

function implicitTls(host: string, port: number, o: TlsOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, servername: o.servername, ca: o.ca, rejectUnauthorized: false });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no handshake within ${TIMEOUT_MS / 1000} s`)); }, TIMEOUT_MS);
    s.once("secureConnect", () => { clearTimeout(timer); resolve(s); });
    s.once("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

async function closedPortsCheck(t: StatusTarget): Promise<CheckResult> {
  const ports = [...CLOSED_PORTS, ...(acmeHttpPorts(t.config.tls).length === 0 ? [80] : [])].sort((a, b) => a - b);
  const open = (await Promise.all(ports.map(async (p) => ((await portOpen(t.ip, p, 3_000)) ? p : undefined))))
    .filter((p): p is number => p !== undefined);
  if (open.length === 0) return ok("closed-ports", `${ports.join(", ")} closed`);
  return error("closed-ports", `${open.join(", ")} answer from outside — only ${[...MAIL_PORTS, ...WEB_PORTS, ...acmeHttpPorts(t.config.tls)].join(", ")} (and SSH from sshSourceRanges) should; check the firewall rules and what listens (ss -ltnp)`);
}

/** Greeting/EHLO name, the open-relay probe and the forged-sender probe, on port 25 without AUTH. */
async function smtpChecks(t: StatusTarget): Promise<CheckResult[]> {
  const hosted = `postmaster@${t.config.domain}`;
  const envelope = async (from: string, to: string): Promise<EnvelopeSeen & { greeting: string; ehlo: string }> => {
    const { probe, greeting } = await SmtpProbe.open(t.ip, 25, TIMEOUT_MS);
    try {
      const ehlo = await probe.command(`EHLO ${t.ehloName}`);
      const mail = await probe.command(`MAIL FROM:<${from}>`);
      const rcpt = mail.code < 400 ? await probe.command(`RCPT TO:<${to}>`) : undefined;
      await probe.command("RSET");
      return { greeting: greeting.text, ehlo: ehlo.text, mail, ...(rcpt ? { rcpt } : {}) };
    } finally {
      probe.close();
    }
  };
  try {
    const relay = await envelope(t.outsideAddress, t.outsideAddress);
    const forged = await envelope(hosted, hosted);
    return [assessHelo(t.config.hostname, relay.greeting, relay.ehlo), assessRelayProbe(relay), assessForgedProbe(forged, hosted)];
  } catch (e) {
    const m = `port 25 did not answer (${(e as Error).message}) — check that Postfix runs and the firewall lets 25 in`;
    return ["helo", "open-relay", "forged-sender"].map((id) => error(id, m));
  }
}

// ---------- a message through the server ----------

/** Submits on 587 (STARTTLS, AUTH) to the mailbox itself, finds it over IMAP, deletes it. */
async function roundTrip(t: StatusTarget): Promise<CheckResult> {
  const id = "round-trip";
  if ("none" in t.mailbox) return skip(id, t.mailbox.none);
  const { address, password } = t.mailbox;
  const token = `status-check-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tlsOpts = { servername: t.config.hostname, ...(t.tlsCa ? { ca: t.tlsCa } : {}) };
  const started = Date.now();
  try {
    const transport = nodemailer.createTransport({
      host: t.ip, port: 587, secure: false, requireTLS: true, auth: { user: address, pass: password }, tls: tlsOpts,
      name: t.ehloName, connectionTimeout: TIMEOUT_MS, greetingTimeout: TIMEOUT_MS,
    });
    await transport.sendMail({ from: address, to: address, subject: token, text: "mailserver status check: round trip (deleted when found)" });
  } catch (e) {
    const { message, response, responseCode } = e as Error & { response?: unknown; responseCode?: unknown };
    return assessSubmissionFailure({
      message, ...(typeof response === "string" ? { response } : {}), ...(typeof responseCode === "number" ? { responseCode } : {}),
    });
  }
  const imap = new ImapFlow({ host: t.ip, port: 993, secure: true, auth: { user: address, pass: password }, tls: tlsOpts, logger: false });
  try {
    await imap.connect();
    const lock = await imap.getMailboxLock("INBOX");
    try {
      for (let i = 0; i < 60; i++) {
        const found = await imap.search({ subject: token }, { uid: true });
        if (found && found.length > 0) {
          await imap.messageDelete(found, { uid: true });
          return ok(id, `submitted on 587 and read over IMAP in ${((Date.now() - started) / 1000).toFixed(1)} s (${address})`);
        }
        await new Promise((r) => setTimeout(r, 1_000));
        await imap.noop();
      }
    } finally {
      lock.release();
    }
    return error(id, `submitted on 587, but not in ${address}'s INBOX after 60 s — see postqueue -p and journalctl -u 'postfix*' on the server`);
  } catch (e) {
    return error(id, `IMAP on 993 failed: ${(e as Error).message} — check that Dovecot runs`);
  } finally {
    await imap.logout().catch(() => undefined);
  }
}

// ---------- inside, over SSH ----------

async function insideChecks(t: StatusTarget): Promise<CheckResult[]> {
  const r = await t.onServer("/usr/local/sbin/mailserver-selfcheck --json");
  try {
    return parseSelfcheck(r.stdout);
  } catch {
    return [error("server", `mailserver-selfcheck --json failed (exit ${r.code}: ${r.stderr.trim().split("\n").pop() ?? ""}) — run pulumi up to install it, or check SSH`)];
  }
}

// ---------- reverse DNS and blocklists ----------

async function reverseAndBlocklists(t: StatusTarget): Promise<CheckResult[]> {
  const names = t.config.ptr ? await t.resolver.reverse(t.ip).catch((e: NodeJS.ErrnoException) => ({ failed: e.code ?? e.message })) : [];
  const results = [assessPtr(t.config.ptr, t.ip, t.config.hostname, names)];
  if (t.blocklistsSkipped) return [...results, skip("blocklists", t.blocklistsSkipped)];
  if (!isIPv4(t.ip)) return [...results, skip("blocklists", "the lists are asked for IPv4 addresses only")];
  const reversed = t.ip.split(".").reverse().join(".");
  for (const list of BLOCKLISTS) {
    const answer = await t.resolver.resolve4(`${reversed}.${list}`).catch((e: NodeJS.ErrnoException) =>
      (e.code === "ENOTFOUND" || e.code === "ENODATA" ? "not listed" as const : { failed: e.code ?? e.message }));
    results.push(assessBlocklist(list, t.ip, answer));
  }
  return results;
}

