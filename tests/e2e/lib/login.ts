// Logins from a chosen address of the lab network (lab.json outsideAddresses): what fail2ban counts and bans.
import net from "node:net";
import tls from "node:tls";
import { Lab, LabUser } from "./lab";
import { labTls, SmtpDialog } from "./smtp";
import { Wakeup } from "./wait";

/** AUTH PLAIN on 587 (after STARTTLS) from `from`: the reply code (235, 535 …). */
export async function smtpLogin(lab: Lab, from: string, user: LabUser): Promise<number> {
  const d = await SmtpDialog.open(lab.ip, 587, { localAddress: from });
  try {
    await d.ehlo();
    await d.starttls(labTls(lab));
    await d.ehlo();
    return (await d.authPlain(user.address, user.password)).code;
  } finally {
    d.close();
  }
}

/** IMAP LOGIN on 993 from `from`: the tagged answer ("OK", "NO" …), read raw to choose the source address. */
export async function imapLogin(lab: Lab, from: string, user: LabUser): Promise<string> {
  const plain = net.connect({ host: lab.ip, port: 993, localAddress: from });
  const socket = tls.connect({ socket: plain, ...labTls(lab) });
  const wake = new Wakeup();
  let text = "";
  let closed = false;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => { text += chunk; wake.notify(); });
  socket.on("close", () => { closed = true; wake.notify(); });
  socket.on("error", () => undefined);
  const until = async (re: RegExp): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const m = re.exec(text);
      if (m) return m;
      if (closed || Date.now() > deadline) throw new Error(`IMAP from ${from}: no ${re} (got: ${text})`);
      await wake.next(deadline - Date.now());
    }
  };
  try {
    await until(/^\* OK/m);
    const quote = (s: string) => `"${s.replace(/["\\]/g, "\\$&")}"`;
    socket.write(`a LOGIN ${quote(user.address)} ${quote(user.password)}\r\n`);
    return (await until(/^a (OK|NO|BAD)\b/m))[1];
  } finally {
    socket.end("b LOGOUT\r\n");
    socket.destroy();
  }
}
