// Alias graph checks. Postfix expands virtual aliases recursively, so a cycle makes mail bounce with
// "mail forwarding loop"; we refuse such a config instead.
import type { MailAlias } from "./config";

/** Returns the addresses of the first alias cycle found (first address repeated at the end), or undefined. */
export function findAliasLoop(aliases: MailAlias[]): string[] | undefined {
  const next = new Map(aliases.map((a) => [a.source, a.destinations]));
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(node);
    if (at >= 0) return [...path.slice(at), node];
    if (done.has(node) || !next.has(node)) return undefined;
    for (const d of next.get(node) ?? []) {
      const loop = visit(d, [...path, node]);
      if (loop) return loop;
    }
    done.add(node);
    return undefined;
  };
  for (const a of aliases) {
    const loop = visit(a.source, []);
    if (loop) return loop;
  }
  return undefined;
}
