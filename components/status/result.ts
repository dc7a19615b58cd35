// What every status check reports, and how a list of them is shown: one line each, or JSON.

/** skip: the check could not be run here (e.g. blocklists from the lab); never a failure. */
export const LEVELS = ["ok", "warning", "error", "skip"] as const;
export type Level = (typeof LEVELS)[number];

export interface CheckResult {
  /** Stable and greppable: "dns:TXT:_dmarc.example.com", "tls:993", "server:daemon:dovecot". */
  id: string;
  status: Level;
  /** What was found; when not ok, also the fix. */
  message: string;
}

export const ok = (id: string, message: string): CheckResult => ({ id, status: "ok", message });
export const warning = (id: string, message: string): CheckResult => ({ id, status: "warning", message });
export const error = (id: string, message: string): CheckResult => ({ id, status: "error", message });
export const skip = (id: string, message: string): CheckResult => ({ id, status: "skip", message });

/**
 * Text as a terminal may show it: what servers sent (SMTP replies, TXT records, the self-check's messages) could
 * carry escape sequences that rewrite the screen, a newline that forges a line of its own, or bidi controls that
 * reorder what is read. Each such character becomes a visible \u escape.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One line per check, columns aligned: "error    tls:993   certificate expired … — fix". */
export function formatLines(results: CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => printable(r.id).length));
  return results.map((r) => `${r.status.padEnd(7)} ${printable(r.id).padEnd(width)}  ${printable(r.message)}`.trimEnd() + "\n").join("");
}

export function formatJson(results: CheckResult[]): string {
  // JSON escapes C0 controls itself, but not DEL, C1 (0x9b is a CSI) or bidi controls.
  return JSON.stringify(results.map((r) => ({ ...r, id: printable(r.id), message: printable(r.message) })), null, 2) + "\n";
}

/** 1 when any check is an error; warnings and skips leave it 0. */
export function exitCode(results: CheckResult[]): number {
  return results.some((r) => r.status === "error") ? 1 : 0;
}

/** A one-line summary: "31 ok, 1 warning, 0 errors, 2 skipped". */
export function summary(results: CheckResult[]): string {
  const n = (l: Level) => results.filter((r) => r.status === l).length;
  return `${n("ok")} ok, ${n("warning")} warning(s), ${n("error")} error(s), ${n("skip")} skipped`;
}

/** Reads mailserver-selfcheck --json output; each server check becomes "server:<its id>". */
export function parseSelfcheck(json: string): CheckResult[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error("mailserver-selfcheck --json did not print a list");
  return parsed.map((item: unknown) => {
    const r = item as Partial<Record<keyof CheckResult, unknown>>;
    if (typeof r.id !== "string" || typeof r.message !== "string" || !LEVELS.includes(r.status as Level)) {
      throw new Error(`mailserver-selfcheck --json printed an entry that is not {status, id, message}: ${JSON.stringify(item)}`);
    }
    return { id: `server:${r.id}`, status: r.status as Level, message: r.message };
  });
}
