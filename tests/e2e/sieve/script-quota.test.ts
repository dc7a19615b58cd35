// Issue 21 §1: a user's Sieve scripts are bounded (20 scripts, 1 MiB in all): a PUTSCRIPT loop on 4190 stops
// at the bound instead of filling the data disk that holds every mailbox and the queue.
import { loadLab, labUser } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { ManageSieve, managesieveSession } from "../lib/managesieve";

const lab = loadLab();
// dave has no scripts of his own (tests/e2e/filtering/quota.test.ts uses his mailbox quota only).
const dave = labUser(lab, "dave@example2.test");
const SIEVE_DIR = "/srv/mail/vmail/example2.test/dave/sieve";

/** A valid script of about `bytes` bytes: comment lines, then keep. */
const script = (bytes: number) => `${"# filler line for the quota test ....................................\n".repeat(Math.ceil(bytes / 70))}keep;\n`;

let c: ManageSieve;
beforeEach(async () => {
  c = await managesieveSession(lab, dave);
});
afterEach(async () => {
  for (const s of await c.listScripts()) await c.deleteScript(s.name);
  c.close();
});

test("the 21st script is refused (QUOTA/MAXSCRIPTS); the 20 before it are stored", async () => {
  for (let i = 1; i <= 20; i++) expect({ i, status: (await c.putScript(`loop-${i}`, "keep;\n")).status }).toEqual({ i, status: "OK" });
  const over = await c.putScript("loop-21", "keep;\n");
  expect(over.status).toBe("NO");
  expect(over.line).toMatch(/^NO \(QUOTA\/MAXSCRIPTS\) "Script count quota exceeded \(max 20 scripts\)\."/);
  expect(await c.listScripts()).toHaveLength(20);
  // Control: replacing a stored script is not a new one.
  expect((await c.putScript("loop-1", "discard;\n")).status).toBe("OK");
});

test("scripts beyond 1 MiB in all are refused (QUOTA/MAXSTORAGE), and the disk holds no more than that", async () => {
  for (let i = 1; i <= 5; i++) expect({ i, status: (await c.putScript(`big-${i}`, script(200_000))).status }).toEqual({ i, status: "OK" });
  const over = await c.putScript("big-6", script(200_000));
  expect(over.status).toBe("NO");
  expect(over.line).toMatch(/^NO \(QUOTA\/MAXSTORAGE\) "Script storage quota exceeded \(max 1048576 bytes\)\."/);
  const bytes = Number((await onMachineOk(lab, `du -sb ${SIEVE_DIR} | cut -f1`)).trim());
  expect(bytes).toBeLessThan(1.1 * 1024 * 1024);
  // Control: room made, the same script fits.
  expect((await c.deleteScript("big-5")).status).toBe("OK");
  expect((await c.putScript("big-6", script(200_000))).status).toBe("OK");
});
