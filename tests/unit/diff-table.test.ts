// The lab engine applies exactly the cited table (upstream/diff-table.ts): for every row, a change at that
// path gives the row's replace or update, a reordered set is no change, a path without a row gives the type's
// default; and every row names a real type and input of the SDK we pin.
import * as fs from "node:fs";
import * as path from "node:path";
import { diffResource, RULES } from "../../lab/engine/diff";
import { DIFF_ROWS, DiffRow } from "../../upstream/diff-table";

const opts = { ignoreChanges: [], replaceOnChanges: [] };

/** An input object holding `value` at `rowPath` (`*`: index 0). */
function at(rowPath: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = rowPath.split(".");
  const inner = rest.length === 0 ? value : rest[0] === "*" ? [at(rest.slice(1).join("."), value)] : at(rest.join("."), value);
  return { [head]: inner };
}
const fix = (p: string) => p.replace(/\.\*\./g, ".0.");

const changeRows = DIFF_ROWS.filter((r) => r.rule !== "unordered");
test.each(changeRows.map((r) => [`${r.type} ${r.path}`, r] as [string, DiffRow]))("%s: a change gives the row's rule", (_, r) => {
  const d = diffResource(r.type, { ...at(r.path, "old"), other: 1 }, { ...at(r.path, "new"), other: 1 }, opts);
  expect(d.op).toBe(r.rule);
  expect(d.changed).toEqual([fix(r.path)]);
});

const setRows = DIFF_ROWS.filter((r) => r.rule === "unordered");
test.each(setRows.map((r) => [`${r.type} ${r.path}`, r] as [string, DiffRow]))("%s: a set, reordered, is no change", (_, r) => {
  expect(diffResource(r.type, at(r.path, ["a", "b"]), at(r.path, ["b", "a"]), opts).op).toBe("same");
  expect(diffResource(r.type, at(r.path, ["a", "b"]), at(r.path, ["a", "c"]), opts).op).not.toBe("same");
});

test.each(Object.entries(RULES))("%s: a path without a row gives the type's default", (type, rule) => {
  expect(diffResource(type, { noRowHere: "a" }, { noRowHere: "b" }, opts).op).toBe(rule.otherwise);
});

test("every row's type has a default, and the table names no path twice with the same rule", () => {
  for (const r of DIFF_ROWS) expect(`${r.type}: ${String(RULES[r.type] !== undefined)}`).toBe(`${r.type}: true`);
  const keys = DIFF_ROWS.map((r) => `${r.type} ${r.path} ${r.rule}`);
  expect(keys.length).toBe(new Set(keys).size);
});

/** The pinned SDK's module of a type token, e.g. gcp:compute/instance:Instance → @pulumi/gcp/compute/instance. */
function sdkFile(type: string, ext: "js" | "d.ts"): string {
  const [pkg, mod, name] = type.split(":");
  const [dir, file] = mod.includes("/") ? mod.split("/") : [mod, name.charAt(0).toLowerCase() + name.slice(1)];
  const folder = path.join(__dirname, "../../node_modules/@pulumi", pkg, dir === "index" ? "" : dir);
  // Token and file name differ in case for some (gcp:projects/iAMMember → projects/iammember.js).
  const found = fs.readdirSync(folder).find((f) => f.toLowerCase() === `${file}.${ext}`.toLowerCase());
  return fs.readFileSync(path.join(folder, found ?? `${file}.${ext}`), "utf8");
}

test.each(DIFF_ROWS.map((r) => [`${r.type} ${r.path}`, r] as [string, DiffRow]))("%s: the SDK declares the type and the input", (_, r) => {
  expect(sdkFile(r.type, "js")).toContain(`__pulumiType = '${r.type}'`);
  // The resource's Args interface: `    name?: pulumi.Input<…>` (its state outputs are `readonly`).
  expect(sdkFile(r.type, "d.ts")).toMatch(new RegExp(`\\n    ${r.path.split(".")[0]}\\??: pulumi\\.Input<`));
});
