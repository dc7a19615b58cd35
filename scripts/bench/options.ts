// npm run bench [-- --messages N] [--json] [--skip-cold]
import { parseArgs } from "node:util";

export const USAGE = `usage: npm run bench [-- --messages N] [--json] [--skip-cold]
  --messages N   messages per mail flow (default 1000)
  --json         print the results as JSON instead of a table
  --skip-cold    keep the running lab (no lab down / lab up measurement)`;

export interface BenchOptions {
  messages: number;
  json: boolean;
  skipCold: boolean;
}

export class UsageError extends Error {}

export function parseBenchArgs(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { messages: { type: "string" }, json: { type: "boolean" }, "skip-cold": { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
  const text = values.messages ?? "1000";
  const messages = Number(text);
  if (!/^\d+$/.test(text) || messages < 1 || messages > 100_000) {
    throw new UsageError(`--messages must be a whole number from 1 to 100000, not "${text}"\n${USAGE}`);
  }
  return { messages, json: values.json ?? false, skipCold: values["skip-cold"] ?? false };
}
