// npm run check-upstream -- [--mirror DIR]: reads every cited line of every upstream/*.ts module that exports
// `citations: Citation[]` from local git copies of the cited repositories (DIR or $UPSTREAM_MIRROR), and
// fails on each line that no longer says what the rule relies on. Fetches nothing: CI cannot reach GitHub.
// A repository owner/name is looked for as DIR/owner+name/repo, DIR/owner+name or DIR/owner/name.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Citation } from "../upstream/citation";

export type Drift = { citation: Citation; problem: string };

/** The file at repo@tag as lines, or an error message naming what is missing. */
export type Reader = (repo: string, tag: string, file: string) => string[] | string;

export function checkCitations(citations: Citation[], read: Reader): Drift[] {
  const drift: Drift[] = [];
  for (const c of citations) {
    const lines = read(c.repo, c.tag, c.path);
    if (typeof lines === "string") drift.push({ citation: c, problem: lines });
    else if (!(lines[c.line - 1] ?? "").includes(c.expect)) {
      const at = lines.findIndex((l) => l.includes(c.expect));
      drift.push({ citation: c, problem: `line ${c.line} is ${JSON.stringify((lines[c.line - 1] ?? "<past the end>").trim())}` +
        (at >= 0 ? `; the text first appears at line ${at + 1}` : "; the text is nowhere in the file") });
    }
  }
  return drift;
}

function gitDir(mirror: string, repo: string): string | undefined {
  const [owner, name] = repo.split("/");
  return [path.join(mirror, `${owner}+${name}`, "repo"), path.join(mirror, `${owner}+${name}`), path.join(mirror, owner, name)]
    .find((d) => fs.existsSync(path.join(d, "HEAD")) || fs.existsSync(path.join(d, ".git")));
}

export function gitReader(mirror: string): Reader {
  const cache = new Map<string, string[] | string>();
  return (repo, tag, file) => {
    const key = `${repo}@${tag}:${file}`;
    if (!cache.has(key)) {
      const dir = gitDir(mirror, repo);
      if (dir === undefined) cache.set(key, `no copy of ${repo} under ${mirror}`);
      else {
        try {
          const gd = fs.existsSync(path.join(dir, ".git")) ? path.join(dir, ".git") : dir;
          cache.set(key, execFileSync("git", ["--git-dir", gd, "show", `${tag}:${file}`], { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] }).split("\n"));
        } catch {
          cache.set(key, `${file} at ${tag} is not in ${dir} (tag not fetched, or the file moved)`);
        }
      }
    }
    return cache.get(key) as string[] | string;
  };
}

/** Every `citations` export of upstream/*.ts. */
export function allCitations(dir = path.join(__dirname, "..", "upstream")): { module: string; citations: Citation[] }[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().flatMap((f) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, f)) as { citations?: Citation[] };
    return Array.isArray(mod.citations) ? [{ module: `upstream/${f}`, citations: mod.citations }] : [];
  });
}

function main(): void {
  const args = process.argv.slice(2);
  const i = args.indexOf("--mirror");
  const mirror = i >= 0 ? args[i + 1] : process.env.UPSTREAM_MIRROR;
  if (!mirror) throw new Error("name the directory of the fetched repositories: --mirror DIR or UPSTREAM_MIRROR=DIR");
  const read = gitReader(path.resolve(mirror));
  let failed = 0;
  for (const { module, citations } of allCitations()) {
    const drift = checkCitations(citations, read);
    process.stdout.write(`${module}: ${citations.length - drift.length}/${citations.length} citations hold\n`);
    for (const d of drift) {
      const c = d.citation;
      process.stdout.write(`  DRIFT ${c.repo}@${c.tag} ${c.path}:${c.line} expected ${JSON.stringify(c.expect)}: ${d.problem}\n    (${c.claim})\n`);
    }
    failed += drift.length;
  }
  if (failed > 0) {
    process.stderr.write(`${failed} citation(s) no longer hold: read the source again and fix the rule or its line\n`);
    process.exit(1);
  }
}

if (require.main === module) main();
