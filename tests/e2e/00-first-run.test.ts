// Issue 22: the three commands `npm run lab` ends with work as printed (lab/try.ts): a newcomer's first
// message is sent on 587 and read back over IMAPS, both checking the server's certificate.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { tryCommands } from "../../lab/try";
import { loadLab } from "./lib/lab";

const sh = (command: string) => spawnSync("bash", ["-c", command], { encoding: "utf8", timeout: 60_000 });

test("the printed send and read commands deliver a message and show it", async () => {
  const lab = loadLab();
  const [from, to] = lab.users;
  const subject = `first run ${randomUUID()}`;
  const commands = tryCommands({ hostname: lab.hostname, ip: lab.ip, caFile: lab.acmeRoot, from, to }, subject);
  const sent = sh(commands.send);
  expect(sent.stderr).toBe("");
  expect(sent.status).toBe(0);
  let shown = "";
  for (let i = 0; i < 40 && !shown.includes(`Subject: ${subject}`); i++) {
    await new Promise((r) => setTimeout(r, 500));
    shown = sh(commands.read).stdout;
  }
  expect(shown).toContain(`Subject: ${subject}`);
  expect(shown).toMatch(/^DKIM-Signature: /m);
});

test("control: the same read with a wrong password or another CA fails", () => {
  const lab = loadLab();
  const [from, to] = lab.users;
  const wrongPassword = tryCommands({ hostname: lab.hostname, ip: lab.ip, caFile: lab.acmeRoot, from, to: { ...to, password: "wrong" } });
  expect(sh(wrongPassword.read).status).not.toBe(0);
  const wrongCa = tryCommands({ hostname: lab.hostname, ip: lab.ip, caFile: "/etc/ssl/certs/ca-certificates.crt", from, to });
  expect(sh(wrongCa.read).status).not.toBe(0);
});
