// Issue 15 §1, §3, §4, §5: inbound transport security and client setup, as outside tools see it.
// An independent MTA-STS client (mailauth's mta-sts module) fetches each lab domain's policy over HTTPS,
// trusting only the lab CA and resolving only through the lab DNS, and checks our MX against it; port 443
// serves that policy, Thunderbird's autoconfig and Outlook's autodiscover and nothing else, and a client
// that follows the autodiscover answer logs in; the CAA records name the lab's CA; the report addresses in
// DMARC and TLS-RPT receive mail.
import { X509Certificate } from "node:crypto";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import { readFileSync } from "node:fs";
import { XMLParser } from "fast-xml-parser";
import { getPolicy, validateMx } from "mailauth/lib/mta-sts";
import { ImapFlow } from "imapflow";
import nodemailer from "nodemailer";
import { parse as parseYaml } from "yaml";
import { clientSettings } from "../../../components/core/ports";
import { CLOUDFLARE_CAA_RECORDS } from "../../../components/status/record-compare";
import { labConfigFile } from "../lib/deploy";
import { labResolver, mailauthResolver, txt } from "../lib/dns";
import { waitForInbox } from "../lib/imap";
import { labCa, labUser, loadLab, outsideSender, token } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { envelope, message, outsideDialog } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const stack = (parseYaml(readFileSync(labConfigFile(lab), "utf8")) as { config: Record<string, unknown> }).config;
const domains = [String(stack["mailserver:domain"]),
  ...((stack["mailserver:extraDomains"] ?? []) as { name: string }[]).map((d) => d.name)];

interface Fetched { status: number; type: string | undefined; body: string; cert: X509Certificate }

/** One HTTPS request to the server's 443 as `name`, trusting only the lab CA. */
function get(name: string, path: string, method = "GET", body?: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: lab.ip, port: 443, servername: name, headers: { host: name }, path, method, ca: labCa(lab), agent: false },
      (res) => {
        const cert = new X509Certificate((res.socket as tls.TLSSocket).getPeerCertificate().raw);
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body: Buffer.concat(chunks).toString(), cert }));
      });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("content-type", "text/xml");
    req.end(body);
  });
}

/** mailauth's HTTPS client uses the global agent: it trusts the lab CA only while a test says so. */
async function withLabCa<T>(fn: () => Promise<T>): Promise<T> {
  const saved = https.globalAgent.options.ca;
  https.globalAgent.options.ca = labCa(lab);
  try {
    return await fn();
  } finally {
    https.globalAgent.options.ca = saved;
  }
}

describe.each(domains)("MTA-STS for %s", (domain) => {
  test("an independent client finds, fetches and verifies the policy; our MX validates against it", async () => {
    const resolver = mailauthResolver(lab);
    const { policy, status } = await withLabCa(() => getPolicy(domain, undefined, { resolver }));
    expect(policy.error).toBeUndefined();
    expect(status).toBe("found");
    expect(policy).toMatchObject({ mode: "testing", mx: [lab.hostname], maxAge: 604800 });
    const [record] = (await txt(lab, `_mta-sts.${domain}`)).filter((t) => t.startsWith("v=STSv1"));
    expect(record).toBe(`v=STSv1; id=${String(policy.id)}`);
    const mxs = await labResolver(lab).resolveMx(domain);
    expect(mxs.map((m) => m.exchange)).toEqual([lab.hostname]);
    for (const mx of mxs) expect(validateMx(mx.exchange, policy)).toMatchObject({ valid: true, mode: "testing" });
  });

  test("control: an MX the policy does not name fails validation", async () => {
    const { policy } = await withLabCa(() => getPolicy(domain, undefined, { resolver: mailauthResolver(lab) }));
    expect(validateMx(`mx.attacker.${domain}`, policy)).toMatchObject({ valid: false });
  });

  test("control: without the lab CA the same client refuses the policy (the HTTPS check is real)", async () => {
    const { policy, status } = await getPolicy(domain, undefined, { resolver: mailauthResolver(lab) });
    expect(status).toBe("errored");
    expect(policy.mode).toBe("none");
    expect(String((policy.error as Error).message)).toMatch(/certificate/i);
  });

  // Cloudflare serves its Universal SSL issuers beside any CAA record of a zone (docs/dns.md), and so does the lab.
  test("CAA allows the configured CA and, beside it, only the issuers Cloudflare adds", async () => {
    const key = (r: { critical: number; issue?: string; issuewild?: string }) => JSON.stringify(r);
    const served = (await labResolver(lab).resolveCaa(domain)).map(key).sort();
    const cloudflare = CLOUDFLARE_CAA_RECORDS.map((r) => ({ critical: r.flags, [r.tag]: r.value }));
    expect(served).toEqual([{ critical: 0, issue: String(stack["mailserver:caaIssuer"]) }, ...cloudflare].map(key).sort());
  });
});

describe("port 443 serves the policy, the client documents and nothing else", () => {
  const mtaSts = `mta-sts.${domains[0]}`;
  const autoconfig = `autoconfig.${domains[0]}`;
  const autodiscover = `autodiscover.${domains[0]}`;

  test("the certificate verifies against the lab CA for every mta-sts., autoconfig. and autodiscover. name", async () => {
    const { cert } = await get(mtaSts, "/.well-known/mta-sts.txt");
    for (const d of domains) {
      for (const name of [`mta-sts.${d}`, `autoconfig.${d}`, `autodiscover.${d}`]) expect({ name, match: cert.checkHost(name) }).toEqual({ name, match: name });
    }
    expect(cert.checkHost(lab.hostname)).toBe(lab.hostname);
    // Control: a name the certificate was not issued for does not match.
    expect(cert.checkHost(`www.${domains[0]}`)).toBeUndefined();
  });

  test("the policy is text/plain", async () => {
    const r = await get(mtaSts, "/.well-known/mta-sts.txt");
    expect([r.status, r.type]).toEqual([200, "text/plain"]);
    expect(r.body).toBe(`version: STSv1\nmode: testing\nmx: ${lab.hostname}\nmax_age: 604800\n`);
  });

  test.each([
    ["another path on the policy host", () => get(mtaSts, "/"), 404],
    ["a neighbour of the policy", () => get(mtaSts, "/.well-known/mta-sts.txt.bak"), 404],
    ["the policy on the autoconfig host", () => get(autoconfig, "/.well-known/mta-sts.txt"), 404],
    ["the autoconfig document on the policy host", () => get(mtaSts, "/mail/config-v1.1.xml"), 404],
    ["the autodiscover document on the autoconfig host", () => get(autoconfig, "/autodiscover/autodiscover.xml", "POST", outlookRequest("alice")), 404],
    ["the policy on the autodiscover host", () => get(autodiscover, "/.well-known/mta-sts.txt"), 404],
    ["a neighbour of the autodiscover document", () => get(autodiscover, "/autodiscover/autodiscover.xml.bak", "POST", outlookRequest("alice")), 404],
    ["the mail hostname", () => get(lab.hostname, "/.well-known/mta-sts.txt"), 404],
    ["nginx's status page", () => get(mtaSts, "/nginx_status"), 404],
    // nginx refuses a path that climbs above / before any location is matched.
    ["a path outside the web root", () => get(mtaSts, "/../../etc/passwd"), 400],
  ])("not served: %s", async (_label, fetch, status) => {
    const r = await fetch();
    expect(r.status).toBe(status);
    expect(r.body).not.toMatch(/STSv1|clientConfig|Autodiscover|root:/);
  });

  test("port 80 is closed (certbot opens it only while it validates)", async () => {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect({ host: lab.ip, port: 80 }, () => { s.destroy(); resolve(undefined); });
      s.on("error", resolve);
    });
    expect(error?.code).toBe("ECONNREFUSED");
  });
});

describe("Thunderbird autoconfig", () => {
  test.each(domains)("autoconfig.%s: every server entry is the port table's, and only those", async (domain) => {
    const r = await get(`autoconfig.${domain}`, `/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(`alice@${domain}`)}`);
    expect([r.status, r.type]).toEqual([200, "application/xml"]);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => ["domain", "incomingServer", "outgoingServer"].includes(n) })
      .parse(r.body) as { clientConfig: { version: string; emailProvider: { domain: string[]; incomingServer: Entry[]; outgoingServer: Entry[] } } };
    expect(doc.clientConfig.version).toBe("1.1");
    const provider = doc.clientConfig.emailProvider;
    expect(provider.domain).toContain(domain);
    const socket = (security: string) => (security === "SSL/TLS" ? "SSL" : security);
    const s = clientSettings(lab.hostname);
    const want = [
      { type: "imap", hostname: s.imap.host, port: s.imap.port, socketType: socket(s.imap.security) },
      { type: "pop3", hostname: s.pop3.host, port: s.pop3.port, socketType: socket(s.pop3.security) },
      ...s.smtp.map((o) => ({ type: "smtp", hostname: o.host, port: o.port, socketType: socket(o.security) })),
    ];
    const got = [...provider.incomingServer, ...provider.outgoingServer];
    expect(got.map((e) => ({ type: e.type, hostname: e.hostname, port: e.port, socketType: e.socketType }))).toEqual(want);
    for (const e of got) expect([e.authentication, e.username]).toEqual(["password-cleartext", "%EMAILADDRESS%"]);
  });
});

interface Entry { type: string; hostname: string; port: number; socketType: string; authentication: string; username: string }

/** The request Outlook POSTs ([MS-OXDSCLI] 2.2.3: EMailAddress and the response schema it accepts). */
function outlookRequest(address: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">',
    `  <Request><EMailAddress>${address}</EMailAddress>`,
    "  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>",
    "  </Request>",
    "</Autodiscover>",
  ].join("\n");
}

interface Protocol { Type: string; Server: string; Port: number; SSL: string; SPA: string; AuthRequired: string; LoginName?: string }

describe("Outlook autodiscover", () => {
  const alice = labUser(lab, `alice@${domains[0]}`);

  test.each(domains.flatMap((d) => ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"].map((p) => [d, p])))(
    "autodiscover.%s%s: the port table's implicit-TLS servers, IMAP first, for any address", async (domain, path) => {
      // Outlook's third try (after Active Directory and the bare domain): autodiscover.<domain>, by DNS.
      expect(await labResolver(lab).resolve4(`autodiscover.${domain}`)).toEqual([lab.ip]);
      const r = await get(`autodiscover.${domain}`, path, "POST", outlookRequest(`someone@${domain}`));
      expect([r.status, r.type]).toEqual([200, "application/xml"]);
      const protocols = discovered(r.body);
      const s = clientSettings(lab.hostname);
      const smtp = s.smtp.filter((o) => o.security === "SSL/TLS");
      expect(protocols.map((p) => `${p.Type} ${p.Server}:${p.Port} SSL=${p.SSL} SPA=${p.SPA} auth=${p.AuthRequired}`)).toEqual([
        `IMAP ${s.imap.host}:${s.imap.port} SSL=on SPA=off auth=on`,
        `POP3 ${s.pop3.host}:${s.pop3.port} SSL=on SPA=off auth=on`,
        ...smtp.map((o) => `SMTP ${o.host}:${o.port} SSL=on SPA=off auth=on`),
      ]);
      // No login name: the request is not echoed, Outlook logs in with the address typed.
      expect(protocols.every((p) => p.LoginName === undefined)).toBe(true);
      expect(r.body).not.toContain("someone@");
    });

  test("a client that follows the answer (server by DNS, TLS from the first byte, the address as login) reads and sends mail", async () => {
    const protocols = discovered((await get(`autodiscover.${domains[0]}`, "/autodiscover/autodiscover.xml", "POST", outlookRequest(alice.address))).body);
    const use = (type: string) => {
      const p = protocols.find((x) => x.Type === type);
      if (p === undefined) throw new Error(`no ${type} in the autodiscover answer`);
      return p;
    };
    const imap = use("IMAP");
    const [imapIp] = await labResolver(lab).resolve4(imap.Server);
    const client = new ImapFlow({
      host: imapIp, port: imap.Port, secure: imap.SSL === "on", servername: imap.Server,
      auth: { user: alice.address, pass: alice.password }, tls: { ca: labCa(lab), rejectUnauthorized: true }, logger: false,
    });
    await client.connect();
    expect(client.authenticated).toBeTruthy();
    await client.logout();

    const smtp = use("SMTP");
    const [smtpIp] = await labResolver(lab).resolve4(smtp.Server);
    const transport = nodemailer.createTransport({
      host: smtpIp, port: smtp.Port, secure: smtp.SSL === "on", auth: { user: alice.address, pass: alice.password },
      tls: { ca: labCa(lab), servername: smtp.Server, rejectUnauthorized: true },
    });
    const subject = token("autodiscover");
    await transport.sendMail({ from: alice.address, to: alice.address, subject, text: "sent with the autodiscovered settings\n" });
    await waitForInbox(lab, alice, subject);
  });
});

function discovered(body: string): Protocol[] {
  const doc = new XMLParser({ isArray: (n) => n === "Protocol" }).parse(body) as
    { Autodiscover: { Response: { Account: { AccountType: string; Action: string; Protocol: Protocol[] } } } };
  const account = doc.Autodiscover.Response.Account;
  expect([account.AccountType, account.Action]).toEqual(["email", "settings"]);
  return account.Protocol;
}

describe("report addresses receive mail", () => {
  test.each(domains)("the rua of _dmarc and _smtp._tls of %s is delivered to a mailbox", async (domain) => {
    const dmarc = (await txt(lab, `_dmarc.${domain}`)).join("");
    const tlsrpt = (await txt(lab, `_smtp._tls.${domain}`)).join("");
    const rua = (record: string) => /rua=mailto:([^;\s]+)/.exec(record)?.[1];
    expect(rua(dmarc)).toBeDefined();
    expect(rua(tlsrpt)).toBe(rua(dmarc));
    const address = String(rua(dmarc));
    // The lab keeps the default: postmaster@ of the primary domain, the RFC 2142 alias to the first user.
    expect(address).toBe(`postmaster@${domains[0]}`);
    const subject = token("report");
    const d = await outsideDialog(lab);
    try {
      expect((await envelope(d, outsideSender(lab), address)).code).toBe(250);
      expect((await d.data(message(outsideSender(lab), address, subject, "an aggregate report\r\n"))).code).toBe(250);
    } finally {
      d.close();
    }
    expect(await waitForInbox(lab, labUser(lab, lab.users[0].address), subject)).toContain("an aggregate report");
  });
});

describe("the web server comes back by itself", () => {
  test("kill -9 of nginx's master: systemd restarts it (Restart=on-failure) and the policy is served again", async () => {
    const pid = async () => Number((await onMachineOk(lab, "systemctl show -p MainPID --value nginx")).trim());
    const before = await pid();
    expect(before).toBeGreaterThan(0);
    await onMachineOk(lab, `kill -9 ${before}`);
    await waitFor("nginx to run under a new main process", async () => {
      const now = await pid();
      return now > 0 && now !== before ? now : undefined;
    });
    const served = await waitFor("the policy to be served again", async () => {
      try {
        const r = await get(`mta-sts.${domains[0]}`, "/.well-known/mta-sts.txt");
        return r.status === 200 ? r.body : undefined;
      } catch {
        return undefined;
      }
    });
    expect(served).toContain("version: STSv1");
  });
});
