// The e2e suite's two lanes (tests/e2e/sequencer.js): every file in exactly one, lane 1 names files that exist
// (a renamed file would silently move to lane 2, whose lab is on 13 and has no move), and the move in lane 1.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const Sequencer = require("../../tests/e2e/sequencer.js") as {
  new (): { shard(tests: { path: string }[], o: { shardIndex: number; shardCount: number }): { path: string }[] };
  LANE_1: string[];
};
const E2E = join(__dirname, "..", "e2e");

function e2eFiles(dir = E2E): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? (d.name === "lib" ? [] : e2eFiles(join(dir, d.name))) : d.name.endsWith(".test.ts") ? [join(dir, d.name)] : []);
}

const tests = e2eFiles().map((path) => ({ path }));
const lane = (shardIndex: number) => new Sequencer().shard(tests, { shardIndex, shardCount: 2 }).map((t) => relative(E2E, t.path)).sort();

test("lane 1's files exist", () => {
  const all = tests.map((t) => relative(E2E, t.path));
  expect(Sequencer.LANE_1.filter((f) => !all.includes(f))).toEqual([]);
});

test("every file runs in exactly one lane; the move from Debian 12 is in lane 1, whose lab comes up on 12", () => {
  const [one, two] = [lane(1), lane(2)];
  expect([...one, ...two].sort()).toEqual(tests.map((t) => relative(E2E, t.path)).sort());
  expect(one.filter((f) => two.includes(f))).toEqual([]);
  expect(one).toEqual([...Sequencer.LANE_1].sort());
  expect(one).toContain("001-debian-12-to-13.test.ts");
  expect(two.length).toBeGreaterThan(one.length);
});

test("a shard count other than two is refused, naming the lanes", () => {
  expect(() => new Sequencer().shard(tests, { shardIndex: 1, shardCount: 3 })).toThrow(/two lanes: --shard=1\/2 or --shard=2\/2/);
});
