// The machine the figures were taken on, and how busy it was: other labs share it.
import * as os from "node:os";
import { run } from "../../tests/e2e/lib/run";

export interface HostInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  /** Lab network namespaces on the host (this one included): each is a lab machine with its daemons. */
  labsRunning: number;
}

export async function hostInfo(): Promise<HostInfo> {
  const netns = await run("ip", ["netns", "list"]);
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    labsRunning: netns.stdout.split("\n").filter((l) => l.startsWith("mailserver-lab")).length,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [a, b, c];
}
