// How a deploy reports itself: the plan before it runs (like `pulumi preview`) and a summary after.
import type { Op } from "./engine/diff";
import type { Step } from "./engine/engine";
import type { CommandRun } from "./mocks";
import { info, step } from "./proc";

const SYMBOL: Record<Op, string> = { same: " ", create: "+", update: "~", replace: "+-", delete: "-" };

export type Counts = Partial<Record<Op, number>>;

export function countSteps(steps: Step[]): Counts {
  const counts: Counts = {};
  for (const s of steps.filter((x) => !x.original)) counts[s.op] = (counts[s.op] ?? 0) + 1;
  return counts;
}

export function describeCounts(c: Counts): string {
  const parts = (["create", "update", "replace", "delete"] as const).filter((op) => c[op]).map((op) => `${c[op]} to ${op}`);
  return `${parts.length ? parts.join(", ") : "no change"}, ${c.same ?? 0} unchanged`;
}

/** Every step that does something, with the inputs that cause it; unchanged resources are only counted. */
export function printSteps(steps: Step[]): void {
  step(`plan: ${describeCounts(countSteps(steps))}`);
  for (const s of steps.filter((x) => x.op !== "same")) {
    const why = s.op === "replace" ? ` [replace: ${(s.replaceBecause ?? []).join(", ")}]` : s.changed?.length ? ` [${s.changed.join(", ")}]` : "";
    info(`${SYMBOL[s.op].padEnd(2)} ${(s.original ? "delete original" : s.op).padEnd(7)} ${s.type} ${s.name}${why}`);
  }
}

export interface DeploySummary {
  seconds: number;
  counts: Counts;
  /** Steps that did something (create, update, replace, delete), in the order they ran. */
  operations: Step[];
  remoteCommands: number;
  commands: CommandRun[];
}

export function summarize(steps: Step[], commands: CommandRun[], seconds: number): DeploySummary {
  return {
    seconds,
    counts: countSteps(steps),
    operations: steps.filter((s) => s.op !== "same"),
    remoteCommands: commands.filter((c) => c.where === "remote").length,
    commands,
  };
}
