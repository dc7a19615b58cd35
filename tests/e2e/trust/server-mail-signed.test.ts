// Issue 10 §6: mail the server makes itself (a bounce, mail from @hostname) leaves DKIM-signed with a key
// aligned to its From: (the hostname's parent domain), so that it passes DMARC at the published policy.
import { join } from "node:path";
import { loadLab, token } from "../lib/lab";
import { onMachineOk, shellQuote } from "../lib/machine";
import { run } from "../lib/run";
import { Spooled, waitForSpool } from "../lib/spool";

const lab = loadLab();
const VERIFIER = join(__dirname, "..", "lib", "dkim_verify.py");
const outside = "someone@outside.test";

/** Hands a message to the local sendmail on the machine, as cron or a daemon would. */
async function localSendmail(sender: string, recipient: string, subject: string): Promise<void> {
  await onMachineOk(lab, `printf 'Subject: %s\\n\\n%s\\n' ${shellQuote(subject)} 'made on the server' | ` +
    `/usr/sbin/sendmail -f ${shellQuote(sender)} ${shellQuote(recipient)}`);
}

function signature(m: Spooled): { d: string; from: string } {
  const text = m.eml.toString("latin1");
  const head = text.slice(0, text.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
  return {
    d: /^DKIM-Signature:.*?\bd=([^;\s]+)/im.exec(head)?.[1] ?? "",
    from: /^From:\s*(.*)$/im.exec(head)?.[1] ?? "",
  };
}

async function verifies(eml: Buffer): Promise<string> {
  const r = await run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: eml, timeoutMs: 30_000 });
  return r.stdout.trim();
}

test("a bounce to an outside sender is signed for the hostname's domain and verifies", async () => {
  const subject = token("bounce");
  // Accepted locally, then undeliverable (no such mailbox): Postfix bounces it to the outside sender.
  await localSendmail(outside, `no-such-user-${Date.now()}@example.test`, subject);
  const bounce = await waitForSpool(lab, subject);
  expect(bounce.meta.from).toBe("");
  expect(bounce.meta.to).toEqual([outside]);
  const sig = signature(bounce);
  expect(sig.from).toContain(`MAILER-DAEMON@${lab.hostname}`);
  expect(sig.d).toBe("example.test");
  expect(await verifies(bounce.eml)).toBe("pass");
  // Control: the verifier rejects the same bounce once its signed From: is changed.
  expect(await verifies(Buffer.from(bounce.eml.toString("latin1").replace(`MAILER-DAEMON@${lab.hostname}`, "MAILER-DAEMON@example2.test"), "latin1")))
    .toBe("fail");
});

test("mail from root@hostname (cron, daemons) is signed for the hostname's domain and verifies", async () => {
  const subject = token("from-host");
  await localSendmail(`root@${lab.hostname}`, outside, subject);
  const m = await waitForSpool(lab, subject);
  expect(signature(m).d).toBe("example.test");
  expect(await verifies(m.eml)).toBe("pass");
});

test("control: local mail with an outside envelope sender is not signed for any domain of ours", async () => {
  const subject = token("foreign-local");
  await localSendmail("someone@elsewhere.test", outside, subject);
  const m = await waitForSpool(lab, subject);
  expect(signature(m).d).toBe("");
});
