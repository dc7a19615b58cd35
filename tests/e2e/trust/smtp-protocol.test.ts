// Issue 10 §4 and §6: SMTP smuggling on port 25 yields exactly one message; outside clients are not
// offered DSN (which would show where aliases lead), submission clients are.
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { mailStoreFilesWith, queueId, waitUntilDequeued } from "../lib/machine";
import { envelope, outsideDialog, SmtpDialog, submissionDialog } from "../lib/smtp";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const alice = labUser(lab, "alice@example.test");
const outsider = outsideSender(lab);

const visible = (tag: string) => [`From: <${outsider}>`, `To: <${bob.address}>`, `Subject: ${tag} first`, "", "the visible message"].join("\r\n");
const smuggled = (tag: string) => [`From: <alice@example.test>`, `Subject: ${tag} smuggled`, "", "a second message"].join("\r\n");

/** Files in the mail store that hold `tag`, once the queue ids Postfix gave are delivered. */
async function delivered(tag: string, ids: string[]): Promise<number> {
  for (const id of ids) await waitUntilDequeued(lab, id);
  return (await mailStoreFilesWith(lab, tag)).length;
}

async function withOutside<T>(fn: (d: SmtpDialog) => Promise<T>): Promise<T> {
  const d = await outsideDialog(lab);
  try {
    return await fn(d);
  } finally {
    d.close();
  }
}

describe("SMTP smuggling on port 25", () => {
  // One reply at a time, as a patient attacker would: a server that takes the bare line end as the end of
  // DATA answers at once and then takes the smuggled transaction; ours must still be reading the message.
  test.each([
    ["<LF>.<LF>", "\n.\n"],
    ["<LF>.<CR><LF>", "\n.\r\n"],
    ["<CR><LF>.<LF>", "\r\n.\n"],
  ])("DATA with %s inside delivers exactly one message", async (_label, end) => {
    const tag = token("smuggle-data");
    const ids = await withOutside(async (d) => {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      expect((await d.command("DATA")).code).toBe(354);
      d.write(`${visible(tag)}${end}`);
      const early = await d.read(3_000).catch(() => undefined);
      const queued: string[] = [];
      if (early) {
        queued.push(queueId(early.text));
        expect((await envelope(d, outsider, bob.address)).code).toBe(250);
        expect((await d.command("DATA")).code).toBe(354);
      } else {
        d.write(["", `MAIL FROM:<${outsider}>`, `RCPT TO:<${bob.address}>`, "DATA", ""].join("\r\n"));
      }
      d.write(`${smuggled(tag)}\r\n.\r\n`);
      queued.push(queueId((await d.read()).text));
      return queued;
    });
    expect(await delivered(tag, ids)).toBe(1);
  });

  test("the same, pipelined in one write: still exactly one message", async () => {
    const tag = token("smuggle-pipelined");
    const ids = await withOutside(async (d) => {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      expect((await d.command("DATA")).code).toBe(354);
      const commands = ["", `MAIL FROM:<${outsider}>`, `RCPT TO:<${bob.address}>`, "DATA", ""].join("\n");
      d.write(`${visible(tag)}\n.${commands}${smuggled(tag)}\n.\n\r\n.\r\n`);
      const r = await d.read();
      expect(r.code).toBe(250);
      return [queueId(r.text)];
    });
    expect(await delivered(tag, ids)).toBe(1);
  });

  test("BDAT with <LF>.<LF> inside delivers exactly one message", async () => {
    const tag = token("smuggle-bdat");
    const ids = await withOutside(async (d) => {
      expect((await envelope(d, outsider, bob.address)).code).toBe(250);
      const chunk = `${visible(tag)}\n.\nMAIL FROM:<${outsider}>\nRCPT TO:<${bob.address}>\nDATA\n${smuggled(tag)}\n.\n`;
      d.write(`BDAT ${Buffer.byteLength(chunk)} LAST\r\n${chunk}`);
      const r = await d.read();
      expect(r.code).toBe(250);
      return [queueId(r.text)];
    });
    expect(await delivered(tag, ids)).toBe(1);
  });

  test("control: two proper transactions in one session deliver two messages", async () => {
    const tag = token("smuggle-control");
    const ids = await withOutside(async (d) => {
      const out: string[] = [];
      for (const n of [1, 2]) {
        expect((await envelope(d, outsider, bob.address)).code).toBe(250);
        const r = await d.data(`From: <${outsider}>\r\nSubject: ${tag} ${n}\r\n\r\nmessage ${n}\r\n`);
        expect(r.code).toBe(250);
        out.push(queueId(r.text));
      }
      return out;
    });
    expect(await delivered(tag, ids)).toBe(2);
  });
});

describe("delivery status notifications", () => {
  test("are not offered on port 25; submission offers them (control)", async () => {
    const outside = await outsideDialog(lab);
    try {
      const { keywords } = await outside.ehlo();
      expect(keywords).not.toContain("DSN");
      expect(keywords).toContain("CHUNKING");
      // Asking anyway is refused as a bad parameter.
      const r = await outside.command(`MAIL FROM:<${outsider}> RET=HDRS`);
      expect(r.text).toBe("501 5.7.1 DSN support is disabled");
    } finally {
      outside.close();
    }
    const sub = await submissionDialog(lab, alice);
    try {
      expect((await sub.ehlo()).keywords).toContain("DSN");
    } finally {
      sub.close();
    }
  });
});
