// Issue 10 §1–2: from outside, without login, nobody sends as us (envelope or header) and nobody reaches
// the machine's system accounts; genuine outside mail still arrives. (That our own signed mail coming back
// passes is shown in tests/daemons/opendkim-policy.test.ts: in the lab, OpenDKIM's resolver, libunbound,
// refuses the special-use .test names the lab's domains use.)
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { waitForInbox } from "../lib/imap";
import { mailStoreFilesWith } from "../lib/machine";
import { envelope, message, outsideDialog } from "../lib/smtp";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const alice = labUser(lab, "alice@example.test");
const outsider = outsideSender(lab);

describe("envelope senders in a hosted domain, on port 25", () => {
  test.each([
    ["an existing user", "alice@example.test"],
    ["an address that does not exist", "ceo@example.test"],
    ["an alias", "team@example.test"],
    ["the second domain", "carol@example2.test"],
    ["the hostname", "root@mail.example.test"],
    ["upper case", "Alice@EXAMPLE.test"],
  ])("%s is refused with 5.7.1, pointing to 587/465", async (_label, sender) => {
    const d = await outsideDialog(lab);
    try {
      const r = await envelope(d, sender, bob.address);
      expect(r.code).toBe(554);
      expect(r.text).toMatch(/5\.7\.1 .*log in and send on port 587 or 465/);
    } finally {
      d.close();
    }
  });

  test("control: an outside sender to the same recipient is accepted and delivered", async () => {
    const subject = token("genuine");
    const d = await outsideDialog(lab);
    try {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      expect((await d.data(message(outsider, bob.address, subject, "genuine outside mail\r\n"))).code).toBe(250);
    } finally {
      d.close();
    }
    expect(await waitForInbox(lab, bob, subject)).toContain("genuine outside mail");
  });
});

describe("header From: in a hosted domain, on port 25", () => {
  test("refused at the end of DATA, and nothing reaches a mailbox", async () => {
    const subject = token("ceo-fraud");
    const d = await outsideDialog(lab);
    try {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      const text = message("alice@example.test", bob.address, subject, "please wire the money\r\n")
        .replace("From: <alice@example.test>", "From: \"Alice (CEO)\" <alice@example.test>");
      const r = await d.data(text);
      expect(r.code).toBe(550);
      expect(r.text).toMatch(/5\.7\.1 .*Unauthenticated mail from example\.test is refused/);
    } finally {
      d.close();
    }
    expect(await mailStoreFilesWith(lab, subject)).toEqual([]);
  });

  test("a forged Authentication-Results header does not make it pass", async () => {
    const d = await outsideDialog(lab);
    try {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      const text = `Authentication-Results: ${lab.hostname}; dkim=pass header.d=example.test; dmarc=pass\r\n` +
        message("alice@example.test", bob.address, token("forged-ar"));
      expect((await d.data(text)).code).toBe(550);
    } finally {
      d.close();
    }
  });
});

describe("system accounts on the hostname", () => {
  test.each(["daemon", "postfix", "www-data", "nobody", "opendkim"])("%s@hostname is not a recipient", async (account) => {
    const d = await outsideDialog(lab);
    try {
      const r = await envelope(d, outsider, `${account}@${lab.hostname}`);
      expect(r.code).toBe(550);
      // The same answer as for a name that exists nowhere: the reply does not tell accounts apart.
      const made = await d.command(`RCPT TO:<made-up-${Date.now()}@${lab.hostname}>`);
      expect(made.text.replace(/<[^>]*>/, "<>")).toBe(r.text.replace(/<[^>]*>/, "<>"));
    } finally {
      d.close();
    }
  });

  test("control: postmaster@ and abuse@ the hostname reach a person", async () => {
    const subject = token("host-postmaster");
    const d = await outsideDialog(lab);
    try {
      expect((await envelope(d, outsider, `postmaster@${lab.hostname}`)).code).toBe(250);
      expect((await d.command(`RCPT TO:<abuse@${lab.hostname}>`)).code).toBe(250);
      expect((await d.data(message(outsider, `postmaster@${lab.hostname}`, subject, "to the postmaster of the host\r\n"))).code).toBe(250);
    } finally {
      d.close();
    }
    expect(await waitForInbox(lab, alice, subject)).toContain("to the postmaster of the host");
  });
});
