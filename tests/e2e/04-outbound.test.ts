// Issue 6 §4 case 5: outbound mail goes through the Mailgun stand-in over TLS with AUTH, DKIM-signed so
// that two independent verifiers accept it against the lab DNS; SPF passes for the lab IP; DMARC parses.
import { join } from "node:path";
import { authenticate } from "mailauth";
import { spf } from "mailauth/lib/spf";
import { loadLab, token, LabUser } from "./lib/lab";
import { mailauthResolver, txt } from "./lib/dns";
import { run } from "./lib/run";
import { onMachineOk } from "./lib/machine";
import { submission } from "./lib/smtp";
import { Spooled, waitForSpool } from "./lib/spool";

const lab = loadLab();
const outside = "someone@outside.test";
const VERIFIER = join(__dirname, "lib", "dkim_verify.py");
// One sender per hosted domain that has a user in the lab: each domain has its own DKIM key.
const senders: LabUser[] = lab.users.filter((u, i) =>
  lab.users.findIndex((o) => o.address.split("@")[1] === u.address.split("@")[1]) === i);
const sent = new Map<string, Spooled>();

beforeAll(async () => {
  for (const user of senders) {
    const subject = token("out");
    await submission(lab, user, 587).sendMail({ from: user.address, to: outside, subject, text: "case 5: outbound\n" });
    sent.set(user.address, await waitForSpool(lab, subject));
  }
}, 180_000);

function spooled(user: LabUser): Spooled {
  const m = sent.get(user.address);
  if (!m) throw new Error(`nothing spooled for ${user.address}`);
  return m;
}

/** The same message with its body changed: a verifier that still passes it proves nothing. */
function tampered(eml: Buffer): Buffer {
  return Buffer.from(eml.toString("latin1").replace("case 5: outbound", "case 5: tampered"), "latin1");
}

function pythonDkim(eml: Buffer) {
  return run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: eml, timeoutMs: 30_000 });
}

test("Postfix verified the relay's certificate and name before it sent the relay password", async () => {
  const log = await onMachineOk(lab, "journalctl --no-pager -t postfix/smtp | grep 'TLS connection established to' | tail -n 1");
  expect(log).toMatch(new RegExp(`Verified TLS connection established to ${(lab.relay.name ?? lab.relay.host).replace(/\./g, "\\.")}\\[`));
});

describe.each(senders.map((u) => [u.address, u] as const))("mail from %s", (_address, user) => {
  const domain = user.address.split("@")[1];

  test("reaches the relay over TLS, authenticated as the relay user", () => {
    const { meta } = spooled(user);
    expect(meta.tls).toBe(true);
    expect(meta.authUser).toBe(lab.relay.username);
    expect(meta.from).toBe(user.address);
    expect(meta.to).toEqual([outside]);
  });

  test("mailauth verifies its DKIM signature, SPF and DMARC against the lab DNS", async () => {
    const { eml } = spooled(user);
    const resolver = mailauthResolver(lab);
    const opts = { ip: lab.ip, helo: lab.hostname, sender: user.address, mta: "verifier.e2e.test", resolver };
    const res = await authenticate(eml, opts);
    const sig = res.dkim.results.find((r) => r.signingDomain === domain);
    expect(sig?.status.result).toBe("pass");
    expect(res.spf && res.spf.status.result).toBe("pass");
    expect(res.dmarc && res.dmarc.status.result).toBe("pass");
    const bad = await authenticate(tampered(eml), opts);
    // mailauth calls a body-hash mismatch "neutral"; anything but pass shows the check can fail.
    expect(bad.dkim.results.find((r) => r.signingDomain === domain)?.status.result).not.toBe("pass");
  });

  test("python3-dkim, an independent verifier, accepts the signature", async () => {
    const { eml } = spooled(user);
    expect(eml.toString()).toMatch(/^DKIM-Signature:/m);
    const good = await pythonDkim(eml);
    expect(`${good.code} ${good.stdout}${good.stderr}`).toBe("0 pass\n");
    expect((await pythonDkim(tampered(eml))).code).toBe(1);
  });

  test("SPF passes for the lab IP and not for another address", async () => {
    const resolver = mailauthResolver(lab);
    const base = { sender: user.address, helo: lab.hostname, mta: "verifier.e2e.test", resolver };
    const ok = await spf({ ...base, ip: lab.ip });
    expect(ok.status.result).toBe("pass");
    const other = await spf({ ...base, ip: "192.0.2.77" });
    // Another address falls through to include:mailgun.org, which the lab DNS cannot resolve
    // (temperror); on the Internet it ends at ~all (softfail). Either way it must not pass.
    expect(other.status.result).not.toBe("pass");
  });

  test("the DMARC record parses", async () => {
    const records = (await txt(lab, `_dmarc.${domain}`)).filter((r) => r.startsWith("v=DMARC1"));
    expect(records).toHaveLength(1);
    const tags = new Map(records[0].split(";").map((t) => t.trim()).filter(Boolean).map((t) => {
      const i = t.indexOf("=");
      return [t.slice(0, i).trim(), t.slice(i + 1).trim()] as [string, string];
    }));
    expect(["none", "quarantine", "reject"]).toContain(tags.get("p"));
    expect(tags.get("rua")).toMatch(/^mailto:[^@\s]+@[^@\s]+$/);
  });
});
