// lab/write-file.ts: knot's configuration is rewritten at every DNS change of a deploy while keymgr reads it; a
// reader must see the old file or the new one. (keymgr given a knot.conf cut short printed no DS and exited 0:
// a lab up failed with "knot made no KSK".)
import { mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../lab/write-file";

const OLD = "server:\n    listen: 10.213.0.1@53\n";
const NEW = "server:\n    listen: 10.214.0.1@53\n";
let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "lab-write-file-")); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What a reader that opened `file` before `rewrite` reads after it. */
function readAcross(file: string, rewrite: () => void): string {
  const fd = openSync(file, "r");
  try {
    rewrite();
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

test("a reader that opened the file before the rewrite reads the whole old file; later readers the new one", () => {
  const file = join(dir, "knot.conf");
  writeFileSync(file, OLD);
  expect(readAcross(file, () => writeFileAtomic(file, NEW, 0o600))).toBe(OLD);
  expect(readFileSync(file, "utf8")).toBe(NEW);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir)).toEqual(["knot.conf"]);
});

test("control: a rewrite in place (fs.writeFileSync) changes the file under a reader that has it open", () => {
  const file = join(dir, "knot.conf");
  writeFileSync(file, OLD);
  expect(readAcross(file, () => writeFileSync(file, NEW))).toBe(NEW);
});
