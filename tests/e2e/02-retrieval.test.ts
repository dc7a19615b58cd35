// Issue 6 §4 case 3: IMAP (993) and POP3 (995) over TLS read the mail; plaintext 143 and 110 are closed.
import { loadLab, labUser, token } from "./lib/lab";
import { waitForInbox, withImap } from "./lib/imap";
import { onMachineOk } from "./lib/machine";
import { Pop3 } from "./lib/pop3";
import { labTls, submission, tcpState } from "./lib/smtp";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const subject = token("read");
const body = "case 3: read me over IMAP and POP3";

beforeAll(async () => {
  await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: `${body}\n` });
  await waitForInbox(lab, bob, subject);
});

test("993: IMAP over TLS logs in and reads the message", async () => {
  const source = await waitForInbox(lab, bob, subject, 10_000);
  expect(source).toContain(body);
  // A wrong password is refused: the login above proved the right one, not an open door.
  await expect(withImap(lab, { ...bob, password: `${bob.password}-wrong` }, async () => true)).rejects.toThrow();
});

test("995: POP3 over TLS logs in and reads the message", async () => {
  const { pop, greeting } = await Pop3.open(lab.ip, 995, labTls(lab));
  try {
    expect(greeting).toMatch(/^\+OK/);
    expect(await pop.login(bob.address, bob.password)).toMatch(/^\+OK/);
    const count = await pop.count();
    expect(count).toBeGreaterThan(0);
    let found = "";
    // Newest first: the message sent in beforeAll is among the last ones.
    for (let n = count; n > 0 && n > count - 50 && !found; n--) {
      const { status, body: text } = await pop.multi(`RETR ${n}`);
      expect(status).toMatch(/^\+OK/);
      if (text.includes(subject)) found = text;
    }
    expect(found).toContain(body);
  } finally {
    await pop.quit();
  }
});

test("143 and 110 are closed from outside, and nothing listens on them", async () => {
  // Control: the same address answers on 993, so a refusal below is the port's, not the network's.
  expect(await tcpState(lab.ip, 993)).toBe("open");
  // Refused (no listener) or filtered (a firewall drop) both mean closed; open is the failure.
  for (const port of [143, 110]) expect(["refused", "filtered"]).toContain(await tcpState(lab.ip, port));
  const listening = await onMachineOk(lab, "ss -Hltn");
  expect(listening).not.toMatch(/:(143|110)\s/);
  expect(listening).toMatch(/:993\s/);
});
