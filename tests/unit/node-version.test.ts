// One Node.js version for everything that runs the code: .nvmrc is the source; package.json's engines, the
// workflows' setup-node and .ci/run (which installs what .nvmrc names) follow it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "../..");
const major = readFileSync(join(ROOT, ".nvmrc"), "utf8").trim();
const read = (...p: string[]) => readFileSync(join(ROOT, ...p), "utf8");

test(".nvmrc names a major version our dependencies accept", () => {
  expect(major).toMatch(/^\d+$/);
  // @pulumi/pulumi declares the oldest Node it supports; an older .nvmrc makes npm ci warn EBADENGINE.
  const pulumi = JSON.parse(read("node_modules", "@pulumi", "pulumi", "package.json")) as { engines?: { node?: string } };
  const needed = /(\d+)/.exec(pulumi.engines?.node ?? "0")?.[1] ?? "0";
  expect(Number(major)).toBeGreaterThanOrEqual(Number(needed));
});

test("package.json's engines and every workflow's setup-node follow .nvmrc", () => {
  expect((JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node).toBe(`>=${major}`);
  const dir = join(ROOT, ".github", "workflows");
  const versions = readdirSync(dir).flatMap((f) => [...read(".github", "workflows", f).matchAll(/node-version: *(\S+)/g)].map((m) => m[1]));
  expect(versions.length).toBeGreaterThan(0);
  expect(new Set(versions)).toEqual(new Set([major]));
});

test(".ci/run installs and puts first on PATH the Node of .nvmrc", () => {
  const ci = read(".ci", "run");
  expect(ci).toContain('"node-linux-$arch@$(cat .nvmrc)"');
  expect(ci).toMatch(/export PATH="\$NODE_DIR\/node_modules\/node-linux-\$arch\/bin:\$PATH"/);
});
