// Files that other processes read while the lab rewrites them (knot's configuration, which keymgr and knotc read
// during a deploy; the lab's state files): written beside and renamed over the old one, so a reader sees the old
// file or the new one, never a truncated one. (keymgr given a knot.conf cut short printed no DS and exited 0.)
import * as fs from "node:fs";

export function writeFileAtomic(file: string, data: string, mode?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
  fs.renameSync(tmp, file);
}
