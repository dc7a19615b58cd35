// One mail flow's figures from what the client recorded and what the machine's Maildir shows: pure.
import type { Delivered } from "./delivery";
import type { Submission } from "./mail-load";
import { Latency, latency, perSecond } from "./stats";

export interface FlowResult {
  label: string;
  messages: number;
  connections: number;
  accepted: number;
  refused: number;
  /** Each distinct refusal reply and how often it came. */
  refusals: Record<string, number>;
  delivered: number;
  /** Accepted with 250 but not in the mailbox when the wait ended. */
  lost: number;
  /** Delivered more than once. */
  duplicates: number;
  /** Delivered into a folder other than INBOX (Junk, by the spam verdict). */
  outsideInbox: number;
  /** Messages in Postfix's queue when the wait ended. */
  queuedAfter: number;
  /** Accepted messages per second, first MAIL FROM to the last reply. */
  acceptedPerSecond?: number;
  /** Delivered messages per second, first MAIL FROM to the last message in its mailbox. */
  deliveredPerSecond?: number;
  /** MAIL FROM to the reply after DATA (ms). */
  submitMs: Latency;
  /** MAIL FROM to the message in its mailbox (ms). */
  deliveryMs: Latency;
}

export function summarizeFlow(
  label: string, connections: number, submissions: Submission[], delivered: Delivered[], queuedAfter: number,
): FlowResult {
  const accepted = submissions.filter((s) => s.accepted);
  const refusals: Record<string, number> = {};
  for (const s of submissions.filter((x) => !x.accepted)) refusals[s.reply] = (refusals[s.reply] ?? 0) + 1;
  const firstArrival = new Map<number, Delivered>();
  for (const d of delivered) {
    const seen = firstArrival.get(d.index);
    if (!seen || d.ms < seen.ms) firstArrival.set(d.index, d);
  }
  const arrivals = accepted.flatMap((s) => {
    const d = firstArrival.get(s.index);
    return d ? [{ startMs: s.startMs, at: d.ms, folder: d.folder }] : [];
  });
  const start = Math.min(...submissions.map((s) => s.startMs));
  const lastReply = Math.max(...accepted.map((s) => s.endMs));
  const lastArrival = Math.max(...arrivals.map((a) => a.at));
  return {
    label,
    messages: submissions.length,
    connections,
    accepted: accepted.length,
    refused: submissions.length - accepted.length,
    refusals,
    delivered: arrivals.length,
    lost: accepted.length - arrivals.length,
    duplicates: delivered.length - firstArrival.size,
    outsideInbox: arrivals.filter((a) => a.folder !== "").length,
    queuedAfter,
    acceptedPerSecond: perSecond(accepted.length, lastReply - start),
    deliveredPerSecond: perSecond(arrivals.length, lastArrival - start),
    submitMs: latency(accepted.map((s) => s.endMs - s.startMs)),
    deliveryMs: latency(arrivals.map((a) => a.at - a.startMs)),
  };
}
