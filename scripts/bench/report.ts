// The benchmark's results as one Markdown table (README-ready) with the goals of issue 14: pure.
import type { ColdResult, DeployResult, SettingResult } from "./deploys";
import type { FetchResult } from "./imap-fetch";
import type { HostInfo } from "./machine-info";
import type { FlowResult } from "./summary";

export interface BenchResult {
  date: string;
  labInstance: number;
  messages: number;
  host: HostInfo;
  loadBefore: number[];
  loadAfter: number[];
  /** Absent with --skip-cold. */
  cold?: ColdResult;
  noOp: DeployResult;
  oneSetting: SettingResult;
  submission: FlowResult;
  plain: FlowResult;
  imapFetch: FetchResult;
}

export const GOALS = { lost: 0, deliveryP99Ms: 2_000, noOpSeconds: 10 } as const;

const seconds = (s: number) => `${s.toFixed(1)} s`;
const ms = (v?: number) => (v === undefined ? "–" : `${Math.round(v)} ms`);
const sec2 = (v?: number) => (v === undefined ? "–" : `${(v / 1000).toFixed(2)} s`);
const rate = (v?: number) => (v === undefined ? "–" : v.toFixed(1));
const verdict = (goal: string, met: boolean) => `${goal}: ${met ? "met" : "**missed**"}`;

function flowRows(short: string, long: string, f: FlowResult): string[][] {
  const p99 = f.deliveryMs.p99;
  return [
    [`${long}: accepted / delivered per second`, `${rate(f.acceptedPerSecond)} / ${rate(f.deliveredPerSecond)} msgs/s`, ""],
    [`${short}: submit p50 / p99`, `${ms(f.submitMs.p50)} / ${ms(f.submitMs.p99)}`, ""],
    [`${short}: delivery p50 / p99 (max)`, `${sec2(f.deliveryMs.p50)} / ${sec2(p99)} (${sec2(f.deliveryMs.max)})`,
      verdict("p99 ≤ 2 s", p99 !== undefined && p99 <= GOALS.deliveryP99Ms)],
    [`${short}: lost / refused, of ${f.messages}`, `${f.lost} / ${f.refused}`, verdict("0 lost", f.lost === GOALS.lost && f.delivered > 0)],
  ];
}

function ratio(a?: number, b?: number): string {
  return a === undefined || b === undefined ? "–" : a / b >= 10 ? `${(a / b).toFixed(0)}×` : `${(a / b).toFixed(2)}×`;
}

function deployCell(d: DeployResult): string {
  return `${seconds(d.seconds)} (CPU ${seconds(d.cpuSeconds)}, engine ${seconds(d.engineSeconds)}; ${d.changed} resource(s) changed, ${d.remoteCommands} remote command(s))`;
}

/** What the table cannot show: refusals, Junk, duplicates, mail left in the queue. */
export function flowNotes(label: string, f: FlowResult): string[] {
  const notes: string[] = [];
  for (const [reply, n] of Object.entries(f.refusals)) notes.push(`${label}: ${n} refused with "${reply.trim()}"`);
  if (f.outsideInbox > 0) notes.push(`${label}: ${f.outsideInbox} delivered into another folder than INBOX (Junk)`);
  if (f.duplicates > 0) notes.push(`${label}: ${f.duplicates} delivered twice`);
  if (f.queuedAfter > 0) notes.push(`${label}: ${f.queuedAfter} message(s) still in Postfix's queue when the wait ended`);
  return notes;
}

export function formatTable(r: BenchResult): string {
  const rows: string[][] = [
    ["cold deploy (lab down, lab up from the cached image and apt cache) to the first mail in INBOX",
      r.cold ? `${seconds(r.cold.seconds)} (lab up ${seconds(r.cold.labUpSeconds)})` : "skipped (--skip-cold)", ""],
    ["no-op redeploy (`npm run lab -- deploy`)", deployCell(r.noOp), verdict("≤ 10 s", r.noOp.seconds <= GOALS.noOpSeconds)],
    [`one-setting change (${r.oneSetting.setting})`, `${deployCell(r.oneSetting)}; back: ${seconds(r.oneSetting.restore.seconds)}`, ""],
    ...flowRows("587", `587 STARTTLS + AUTH, ${r.submission.connections} connections`, r.submission),
    ...flowRows("25", `25 without TLS, ${r.plain.connections} connections (ceiling)`, r.plain),
    ["587 / 25: accepted, delivered per second",
      `${ratio(r.submission.acceptedPerSecond, r.plain.acceptedPerSecond)}, ${ratio(r.submission.deliveredPerSecond, r.plain.deliveredPerSecond)}`, ""],
    [`IMAP fetch of ${r.imapFetch.messages} messages (993: login, SELECT, SEARCH, FETCH BODY[])`,
      `${seconds(r.imapFetch.seconds)} (${(r.imapFetch.bytes / 2 ** 20).toFixed(1)} MiB)`, ""],
  ];
  const notes = [...flowNotes("587", r.submission), ...flowNotes("25", r.plain)];
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  const h = r.host;
  return [
    `mailserver bench, ${r.date}, LAB_INSTANCE=${r.labInstance}, ${r.messages} messages per flow`,
    `machine: ${h.cpus} CPUs (nproc; ${h.cpuModel}), ${h.memoryGb} GiB, Linux ${h.kernel}; ${h.labsRunning} lab(s) running on it`,
    `load average (1/5/15 min) before ${load(r.loadBefore)}, after ${load(r.loadAfter)}: figures taken under that load`,
    "",
    "| measure | result | goal |",
    "|---|---|---|",
    ...rows.map((c) => `| ${c.join(" | ")} |`),
    ...(notes.length > 0 ? ["", ...notes.map((n) => `- ${n}`)] : []),
    "",
  ].join("\n");
}
