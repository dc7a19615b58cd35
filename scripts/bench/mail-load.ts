// The message load: N messages over K SMTP connections held open side by side (nodemailer's
// SMTPConnection, one per lane), each message timed from MAIL FROM to the server's reply after DATA.
// Connecting, STARTTLS and AUTH happen before a lane's first message and are not part of a submit time.
import { performance } from "node:perf_hooks";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import type { NodemailerError } from "nodemailer/lib/errors";

/** Wall-clock milliseconds with sub-millisecond resolution: comparable with the machine's file times. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Submission {
  index: number;
  startMs: number;
  endMs: number;
  accepted: boolean;
  /** The server's last reply: "250 2.0.0 Ok: queued as …", or the refusal (e.g. a 4xx rate limit). */
  reply: string;
}

export interface LoadPlan {
  messages: number;
  connections: number;
  options: SMTPConnection.Options;
  /** Credentials for AUTH (submission); none on port 25. */
  auth?: { user: string; pass: string };
  envelope: { from: string; to: string };
  message: (index: number) => string;
}

async function openLane(plan: LoadPlan): Promise<SMTPConnection> {
  const c = new SMTPConnection(plan.options);
  // Errors also arrive through the callbacks; without a listener an "error" event would end the process.
  c.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => c.connect((e) => (e ? reject(e) : resolve())));
  const auth = plan.auth;
  if (auth) await new Promise<void>((resolve, reject) => c.login({ credentials: auth }, (e) => (e ? reject(e) : resolve())));
  return c;
}

interface SendResult {
  accepted: boolean;
  reply: string;
  /** A refused message leaves the session usable (after RSET), a 421 or a broken connection does not. */
  usable: boolean;
}

function send(c: SMTPConnection, envelope: { from: string; to: string }, raw: string): Promise<SendResult> {
  return new Promise((resolve) => {
    c.send({ from: envelope.from, to: [envelope.to] }, raw, (e: NodemailerError | null, info) => {
      if (!e) return resolve({ accepted: info.accepted.length === 1, reply: info.response, usable: true });
      const refusedOnly = (e.code === "EENVELOPE" || e.code === "EMESSAGE") && e.responseCode !== 421;
      resolve({ accepted: false, reply: e.response ?? `${e.code ?? "error"}: ${e.message}`, usable: refusedOnly });
    });
  });
}

function reset(c: SMTPConnection): Promise<boolean> {
  return new Promise((resolve) => c.reset((e) => resolve(!e)));
}

/**
 * Sends plan.messages messages, message i once: a refused message (a 4xx rate limit, say) is recorded,
 * not retried, since the refusal is a finding of the benchmark. After a refusal the session goes on with
 * RSET, as nodemailer's pool does; after a 421 or a broken connection the lane reconnects, and a lane
 * that cannot reconnect stops (the others take its share). Messages no lane could send are recorded as
 * refused with the last connection error.
 */
export async function runLoad(plan: LoadPlan): Promise<Submission[]> {
  const results: Submission[] = [];
  let next = 0;
  let lastConnectError = "";
  const lanes = await Promise.all(Array.from({ length: plan.connections }, () => openLane(plan)));
  await Promise.all(lanes.map(async (first) => {
    let c: SMTPConnection | undefined = first;
    while (c && next < plan.messages) {
      const index = next++;
      const raw = plan.message(index);
      const startMs = wallClockMs();
      const r = await send(c, plan.envelope, raw);
      results.push({ index, startMs, endMs: wallClockMs(), accepted: r.accepted, reply: r.reply });
      if (r.usable && (r.accepted || (await reset(c)))) continue;
      c.close();
      c = await openLane(plan).catch((e: unknown) => {
        lastConnectError = e instanceof Error ? e.message : String(e);
        return undefined;
      });
    }
    c?.quit();
  }));
  for (let index = next; index < plan.messages; index++) {
    const now = wallClockMs();
    results.push({ index, startMs: now, endMs: now, accepted: false, reply: `not sent, no connection: ${lastConnectError}` });
  }
  return results.sort((a, b) => a.index - b.index);
}
