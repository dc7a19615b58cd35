// Every relative link in README.md and docs/ leads to a file that exists and, with a #fragment, to a heading
// of that file: the documentation is split by concern, so a moved section must not leave links behind.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

const ROOT = join(__dirname, "../..");
const DOCS = [join(ROOT, "README.md"), ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join(ROOT, "docs", f))];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, "").replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The relative links of a Markdown file outside code: [text](target). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
}

function brokenLinks(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return links(text).filter((target) => {
    const [path, fragment] = target.split("#");
    const to = path === "" ? file : join(dirname(file), path);
    if (!existsSync(to)) return true;
    return fragment !== undefined && !anchors(readFileSync(to, "utf8")).has(fragment);
  });
}

test.each(DOCS.map((f) => relative(ROOT, f)))("%s: every relative link resolves to a file and heading", (file) => {
  expect(brokenLinks(join(ROOT, file))).toEqual([]);
});

test("the checker tells a broken link from a good one", () => {
  expect([...anchors("# A b\n## Status checks\n## `npm run bench` (x)\n## A b\n```\n# not a heading\n```")])
    .toEqual(["a-b", "status-checks", "npm-run-bench-x", "a-b-1"]);
  expect(links("see [x](docs/lab.md#the-local-lab), `[y](z.md)`, [w](https://example.com)")).toEqual(["docs/lab.md#the-local-lab"]);
  const dir = mkdtempSync(join(tmpdir(), "docs-links-"));
  writeFileSync(join(dir, "a.md"), "# A\n## Here\n[ok](#here) [ok](b.md#there) [gone](c.md) [no heading](b.md#nowhere) [self](#nowhere)\n");
  writeFileSync(join(dir, "b.md"), "## There\n");
  expect(brokenLinks(join(dir, "a.md"))).toEqual(["c.md", "b.md#nowhere", "#nowhere"]);
});

test("the README stays a front door (about 150 lines) and links every document in docs/", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  expect(readme.split("\n").length).toBeLessThanOrEqual(160);
  for (const f of readdirSync(join(ROOT, "docs")).filter((x) => x.endsWith(".md"))) expect(readme).toContain(`](docs/${f})`);
});
