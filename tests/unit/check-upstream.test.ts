// scripts/check-upstream.ts: a cited line that no longer holds its text, a missing file or repository, is drift.
import { allCitations, checkCitations, Reader } from "../../scripts/check-upstream";
import type { Citation } from "../../upstream/citation";

const c: Citation = { repo: "o/r", tag: "v1", path: "a.go", line: 2, expect: "ForceNew: true", claim: "x is ForceNew" };
const read: Reader = (repo, tag, file) => (repo === "o/r" && tag === "v1" && file === "a.go" ? ["x: {", "  ForceNew: true,", "}"] : `no ${file}`);

test("a line holding the text is no drift; another line, file or tag is", () => {
  expect(checkCitations([c], read)).toEqual([]);
  expect(checkCitations([{ ...c, line: 3 }], read)[0].problem).toBe('line 3 is "}"; the text first appears at line 2');
  expect(checkCitations([{ ...c, expect: "Optional" }], read)[0].problem).toMatch(/nowhere in the file/);
  expect(checkCitations([{ ...c, tag: "v2" }], read)[0].problem).toBe("no a.go");
});

test("every upstream module's citations are found, the diff table's and the engine's among them", () => {
  const modules = allCitations().map((m) => m.module);
  expect(modules).toEqual(expect.arrayContaining(["upstream/diff-table.ts", "upstream/pulumi-engine.ts"]));
  for (const m of allCitations()) for (const x of m.citations) expect(x.line).toBeGreaterThan(0);
});
