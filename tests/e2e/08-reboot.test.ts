// Issue 6 §4 case 9: after a reboot of the lab machine, every daemon is back by itself and the mail is there.
import { loadLab, labUser, token } from "./lib/lab";
import { findInInbox, waitForInbox } from "./lib/imap";
import { onMachine, onMachineOk } from "./lib/machine";
import { SmtpDialog, submission } from "./lib/smtp";
import { waitFor } from "./lib/wait";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const subject = token("reboot");
// PID 1's start time (clock ticks since the host booted): it changes when the machine boots again,
// unlike boot_id, which a container shares with the host kernel.
const INIT_START = "cut -d' ' -f22 /proc/1/stat";

test("the machine reboots; postfix, dovecot and opendkim come back by themselves; the mail is kept", async () => {
  await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: "case 9: survive a reboot\n" });
  await waitForInbox(lab, bob, subject);
  const bootBefore = (await onMachineOk(lab, INIT_START)).trim();

  // As an admin would on the VM. The SSH session may die with the machine: its exit code says nothing.
  await onMachine(lab, "systemctl reboot", 30_000);
  await waitFor("the lab machine to boot again and answer over SSH", async () => {
    const r = await onMachine(lab, INIT_START, 20_000);
    return r.code === 0 && r.stdout.trim() !== bootBefore ? true : undefined;
  }, { timeoutMs: 5 * 60_000, intervalMs: 3_000 });

  // Nothing here starts a daemon: it only waits for boot to finish and then asks.
  await onMachine(lab, "timeout 120 systemctl is-system-running --wait || true", 150_000);
  const active = await onMachine(lab, `systemctl is-active postfix ${lab.postfixUnit} dovecot opendkim`);
  expect(active.stdout.trim().split("\n")).toEqual(["active", "active", "active", "active"]);
  expect((await onMachineOk(lab, "findmnt -no TARGET /srv/mail")).trim()).toBe("/srv/mail");

  const smtp = await SmtpDialog.open(lab.ip, 25, { localAddress: lab.hostAddress });
  expect(smtp.greeting.code).toBe(220);
  smtp.close();
  expect(await findInInbox(lab, bob, subject)).toContain("case 9: survive a reboot");
  // And the server works, not just runs: a new message goes through submission, LMTP and IMAP.
  const after = token("after-reboot");
  await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: after, text: "case 9: after\n" });
  expect(await waitForInbox(lab, bob, after)).toContain("case 9: after");
}, 15 * 60_000);

test("after the reboot the deploy user's systemd manager lingers: SSH logins never wait for it to stop and start again", async () => {
  // Without linger it stops 10 s after the last session (UserStopDelaySec) and a new login starts another; its stop
  // can hang for minutes (systemd/systemd#30863), and logins wait for it. Sessions 15 s apart meet the same manager.
  const manager = async () => (await onMachineOk(lab, 'systemctl show -p MainPID --value "user@$(id -u "$SUDO_USER").service"')).trim();
  expect((await onMachineOk(lab, 'loginctl show-user "$SUDO_USER" -p Linger --value')).trim()).toBe("yes");
  const first = await manager();
  expect(first).not.toBe("0");
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 15_000));
    expect(await manager()).toBe(first);
  }
}, 120_000);

test("the deploy user's manager stops within seconds, not after user@.service's 2 minutes: a reboot and the VM's delete wait for it", async () => {
  // On Debian 13 its stop hangs until the stop timeout (systemd/systemd#30863); provisioning sets 5 s (step 2c), where
  // the default held every reboot and VM replacement for 2 minutes. Stopped and started again, as a shutdown would.
  const seconds = await onMachineOk(lab, 'u="user@$(id -u "$SUDO_USER").service"; s=$(date +%s); systemctl stop "$u"; ' +
    'e=$(date +%s); systemctl start "$u"; echo $((e - s))', 200_000);
  expect(Number(seconds.trim())).toBeLessThan(60);
}, 300_000);
