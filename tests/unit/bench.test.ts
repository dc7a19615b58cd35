// The benchmark's pure parts (scripts/bench): percentiles, the flow summary, Maildir parsing, the options
// and the table. The measurements themselves run against the lab (npm run bench), not here.
import { childCpuSeconds } from "../../scripts/bench/deploys";
import { parseDeliveries } from "../../scripts/bench/delivery";
import type { Submission } from "../../scripts/bench/mail-load";
import { parseBenchArgs, UsageError } from "../../scripts/bench/options";
import { BenchResult, formatTable } from "../../scripts/bench/report";
import { latency, percentile, perSecond } from "../../scripts/bench/stats";
import { FlowResult, summarizeFlow } from "../../scripts/bench/summary";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose

  test("p50 and p99 of 1..100 are 50 and 99; p100 is the maximum", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  test("always a measured value: p99 of 20 values is the largest, p50 of 4 values the second", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 99)).toBe(20);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
  });

  test("one value is every percentile; none has no percentile", () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(latency([])).toEqual({ p50: undefined, p99: undefined, max: undefined });
  });

  test("does not reorder the caller's array", () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  test.each([0, -1, 101, NaN])("refuses percentile %p", (p) => {
    expect(() => percentile([1, 2], p)).toThrow(/percentile must be in \(0, 100\]/);
  });

  test("perSecond: count over a span in ms, undefined without one", () => {
    expect(perSecond(50, 2_000)).toBe(25);
    expect(perSecond(0, 2_000)).toBeUndefined();
    expect(perSecond(5, 0)).toBeUndefined();
    expect(perSecond(5, -Infinity)).toBeUndefined();
  });
});

describe("summarizeFlow", () => {
  const sub = (index: number, startMs: number, endMs: number, accepted = true): Submission =>
    ({ index, startMs, endMs, accepted, reply: accepted ? "250 2.0.0 Ok: queued as X" : "450 4.7.1 rate limited" });

  test("latencies, rates, lost, refused, duplicates and Junk from what was sent and what arrived", () => {
    const submissions = [sub(0, 1_000, 1_100), sub(1, 1_050, 1_250), sub(2, 1_100, 1_200, false), sub(3, 1_200, 2_000)];
    const delivered = [
      { index: 0, ms: 1_500, folder: "" },
      { index: 1, ms: 3_000, folder: ".Junk" },
      { index: 1, ms: 3_500, folder: "" }, // a second copy: counted once, the first arrival counts
    ];
    const f = summarizeFlow("587", 4, submissions, delivered, 1);
    expect(f).toMatchObject({ messages: 4, connections: 4, accepted: 3, refused: 1, delivered: 2, lost: 1, duplicates: 1, outsideInbox: 1, queuedAfter: 1 });
    expect(f.refusals).toEqual({ "450 4.7.1 rate limited": 1 });
    expect(f.submitMs).toEqual({ p50: 200, p99: 800, max: 800 });
    expect(f.deliveryMs).toEqual({ p50: 500, p99: 1_950, max: 1_950 });
    expect(f.acceptedPerSecond).toBe(3); // 3 accepted from 1.000 s to 2.000 s
    expect(f.deliveredPerSecond).toBe(1); // 2 delivered from 1.000 s to 3.000 s
  });

  test("nothing delivered: every accepted message is lost and no rate or delivery time is made up", () => {
    const f = summarizeFlow("25", 4, [sub(0, 0, 10), sub(1, 5, 20)], [], 2);
    expect(f).toMatchObject({ accepted: 2, delivered: 0, lost: 2 });
    expect(f.deliveredPerSecond).toBeUndefined();
    expect(f.deliveryMs.p99).toBeUndefined();
  });
});

describe("parseDeliveries", () => {
  const tag = "bench-abc-587";
  const ctimes = [
    "1763800000.250000000 ./new/1763800000.M250P10.mail,S=2300,W=2350",
    "1763800001.500000000 ./cur/1763800001.M1P11.mail,S=2300,W=2350:2,S",
    "1763800002.000000000 ./.Junk/new/1763800002.M1P12.mail,S=2300,W=2350",
    "1763800003.000000000 ./new/other",
  ].join("\n");
  const subjects = [
    "./new/1763800000.M250P10.mail,S=2300,W=2350:Subject: bench-abc-587 0",
    "./cur/1763800001.M1P11.mail,S=2300,W=2350:2,S:Subject: bench-abc-587 12",
    "./.Junk/new/1763800002.M1P12.mail,S=2300,W=2350:Subject: bench-abc-587 7",
    "./new/other:Subject: bench-abc-5870 3", // another tag that starts alike
  ].join("\n");

  test("joins each file's ctime (ms) to the message index in its subject, with its folder", () => {
    expect(parseDeliveries(ctimes, subjects, tag)).toEqual([
      { index: 0, ms: 1763800000250, folder: "" },
      { index: 7, ms: 1763800002000, folder: ".Junk" },
      { index: 12, ms: 1763800001500, folder: "" },
    ]);
  });

  test("a file without a ctime line or without the tag is not a delivery", () => {
    expect(parseDeliveries("", subjects, tag)).toEqual([]);
    expect(parseDeliveries(ctimes, "", tag)).toEqual([]);
  });
});

describe("parseBenchArgs", () => {
  test("defaults: 1000 messages, a table, the cold deploy measured", () => {
    expect(parseBenchArgs([])).toEqual({ messages: 1000, json: false, skipCold: false });
  });

  test("--messages 20 --skip-cold --json", () => {
    expect(parseBenchArgs(["--messages", "20", "--skip-cold", "--json"])).toEqual({ messages: 20, json: true, skipCold: true });
  });

  test.each([["0"], ["-5"], ["1e3"], ["ten"], ["100001"]])("refuses --messages %s", (n) => {
    expect(() => parseBenchArgs([`--messages=${n}`])).toThrow(/--messages must be a whole number from 1 to 100000/);
  });

  test("refuses an unknown option with the usage", () => {
    expect(() => parseBenchArgs(["--fast"])).toThrow(UsageError);
    expect(() => parseBenchArgs(["--fast"])).toThrow(/usage: npm run bench/);
  });
});

test("childCpuSeconds: the children's user + system time from bash's times", () => {
  expect(childCpuSeconds("0m0.003s 0m0.001s\n1m4.527s 0m0.795s\n")).toBeCloseTo(65.322, 6);
  expect(() => childCpuSeconds("")).toThrow(/no CPU times/);
});

describe("formatTable", () => {
  const flow = (over: Partial<FlowResult>): FlowResult => ({
    label: "587", messages: 1000, connections: 4, accepted: 1000, refused: 0, refusals: {}, delivered: 1000, lost: 0,
    duplicates: 0, outsideInbox: 0, queuedAfter: 0, acceptedPerSecond: 40, deliveredPerSecond: 39.5,
    submitMs: { p50: 80.4, p99: 210.6, max: 400 }, deliveryMs: { p50: 310, p99: 1_250, max: 1_900 }, ...over,
  });
  const deploy = { seconds: 3.14, cpuSeconds: 2.5, engineSeconds: 1.5, remoteCommands: 0, changed: 0 };
  const result: BenchResult = {
    date: "2026-11-22T07:00:00Z", labInstance: 5, messages: 1000,
    host: { cpus: 2, cpuModel: "AMD EPYC", memoryGb: 24, kernel: "6.1.0", labsRunning: 4 },
    loadBefore: [1.5, 1.25, 1], loadAfter: [3, 2, 1.125],
    cold: { seconds: 150.26, labUpSeconds: 148 },
    noOp: deploy,
    oneSetting: { seconds: 9.5, cpuSeconds: 4, engineSeconds: 8, remoteCommands: 2, changed: 2, setting: "messageSizeLimitMb 25 → 26", restore: { ...deploy, seconds: 9.25 } },
    submission: flow({}),
    plain: flow({ label: "25", acceptedPerSecond: 80, deliveredPerSecond: 79, deliveryMs: { p50: 400, p99: 2_400, max: 3_000 },
      lost: 2, delivered: 998, refused: 3, accepted: 997, refusals: { "421 4.7.0 too many connections\n": 3 }, outsideInbox: 5 }),
    imapFetch: { seconds: 2.345, messages: 1000, bytes: 2.5 * 2 ** 20 },
  };
  const text = formatTable(result);
  const row = (start: string) => text.split("\n").find((l) => l.startsWith(`| ${start}`));

  test("a header with the machine and the load, then a Markdown table", () => {
    expect(text).toContain("LAB_INSTANCE=5, 1000 messages per flow");
    expect(text).toContain("2 CPUs (nproc; AMD EPYC), 24 GiB, Linux 6.1.0; 4 lab(s) running");
    expect(text).toContain("before 1.50 1.25 1.00, after 3.00 2.00 1.13: figures taken under that load");
    expect(text).toContain("| measure | result | goal |\n|---|---|---|\n");
    for (const l of text.split("\n").filter((x) => x.startsWith("|"))) expect(l.split("|")).toHaveLength(5);
  });

  test("each measurement with its unit, the goals met or missed", () => {
    expect(row("cold deploy")).toContain("| 150.3 s (lab up 148.0 s) |");
    expect(row("no-op redeploy")).toContain("| 3.1 s (CPU 2.5 s, engine 1.5 s; 0 resource(s) changed, 0 remote command(s)) | ≤ 10 s: met |");
    expect(row("one-setting change (messageSizeLimitMb 25 → 26)")).toContain("; back: 9.3 s |");
    expect(row("587 STARTTLS + AUTH, 4 connections")).toContain("| 40.0 / 39.5 msgs/s |");
    expect(row("587: submit")).toContain("| 80 ms / 211 ms |");
    expect(row("587: delivery")).toContain("| 0.31 s / 1.25 s (1.90 s) | p99 ≤ 2 s: met |");
    expect(row("587: lost")).toContain("| 0 / 0 | 0 lost: met |");
    expect(row("25: delivery")).toContain("| 0.40 s / 2.40 s (3.00 s) | p99 ≤ 2 s: **missed** |");
    expect(row("25: lost")).toContain("| 2 / 3 | 0 lost: **missed** |");
    expect(row("587 / 25")).toContain("| 0.50×, 0.50× |");
    expect(row("IMAP fetch of 1000 messages")).toContain("| 2.3 s (2.5 MiB) |");
  });

  test("refusals and Junk deliveries are listed under the table", () => {
    expect(text).toContain('- 25: 3 refused with "421 4.7.0 too many connections"');
    expect(text).toContain("- 25: 5 delivered into another folder than INBOX (Junk)");
  });

  test("without the cold measurement the row says it was skipped; a missed no-op goal shows", () => {
    const t = formatTable({ ...result, cold: undefined, noOp: { ...deploy, seconds: 12 } });
    expect(t).toContain("| skipped (--skip-cold) |");
    expect(t).toContain("≤ 10 s: **missed**");
  });
});
