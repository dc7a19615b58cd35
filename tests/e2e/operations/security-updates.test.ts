// Issue 21 §5: security updates without a person. The update timers run and unattended-upgrades takes the
// security origin only; a security update the machine lacks (needrestart put back to its point-release version)
// is reported by the self-check, a warning once a day old, in the alert mail too, and installed by a real
// unattended-upgrade run; needrestart restarts the daemons still running a replaced library; a required reboot
// waits outside the maintenance window (control) and happens inside it, and mail flows after.
import { codenameOf, isDebianRelease } from "../../../components/core/release";
import { loadLab, labUser, token } from "../lib/lab";
import { configCopy, deployLab, labConfigFile } from "../lib/deploy";
import { waitForInbox } from "../lib/imap";
import { onMachine, onMachineOk } from "../lib/machine";
import { submission } from "../lib/smtp";
import { spooledWith } from "../lib/spool";
import { waitFor } from "../lib/wait";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
if (!isDebianRelease(lab.release)) throw new Error(`lab.json names Debian ${lab.release}, which we do not support`);
const CODENAME = codenameOf(lab.release);
const configFile = labConfigFile(lab);
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const ALERT_EMAIL = "oncall@genuine.lab.test"; // lab/stack.yaml's mailserver:alertEmail
// PID 1's start time: it changes when the machine boots again (08-reboot.test.ts).
const INIT_START = "cut -d' ' -f22 /proc/1/stat";
const PROBE = "needrestart"; // a leaf package with a security update in <codename>-security (checked below)

type Check = { status: string; message: string };
async function selfcheck(): Promise<Record<string, Check>> {
  const r = await onMachine(lab, "/usr/local/sbin/mailserver-selfcheck --json");
  const list = JSON.parse(r.stdout) as (Check & { id: string })[];
  return Object.fromEntries(list.map((c) => [c.id, { status: c.status, message: c.message }]));
}

/** "HH:MM" on the machine's clock (UTC) plus `minutes`. */
async function machineTime(minutes: number): Promise<string> {
  const [h, m] = (await onMachineOk(lab, "date -u +%H:%M")).trim().split(":").map(Number);
  const t = (((h * 60 + m + minutes) % 1440) + 1440) % 1440;
  return `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`;
}
const windowAround = async (from: number, to: number) => `${await machineTime(from)}-${await machineTime(to)}`;

// The daemons whose running processes map libssl3 (Dovecot's and Postfix's masters do not: their TLS processes
// start afresh per connection and load the new library by themselves).
const TLS_UNITS = ["nginx.service", "opendkim.service", "rspamd.service"];
const unitPids = async () => (await onMachineOk(lab, TLS_UNITS.map((u) => `echo "${u} $(systemctl show -p MainPID --value ${u})"`).join("; "))).trim();

afterAll(async () => {
  await onMachine(lab, "rm -f /run/reboot-required /run/reboot-required.pkgs");
  await deployLab(configFile);
}, DEPLOY_TIMEOUT);

test("the update timers run; apt takes unattended-upgrades' settings: daily, security origins only, our conffiles kept", async () => {
  expect((await onMachineOk(lab, "systemctl is-enabled apt-daily.timer apt-daily-upgrade.timer mailserver-maintenance.timer")).split("\n").filter(Boolean))
    .toEqual(["enabled", "enabled", "enabled"]);
  expect((await onMachineOk(lab, "systemctl is-active apt-daily.timer apt-daily-upgrade.timer mailserver-maintenance.timer")).split("\n").filter(Boolean))
    .toEqual(["active", "active", "active"]);
  const dump = await onMachineOk(lab, "apt-config dump");
  expect(dump).toContain('APT::Periodic::Unattended-Upgrade "1";');
  expect(dump).toContain('APT::Periodic::Update-Package-Lists "1";');
  expect(dump.split("\n").filter((l) => l.startsWith("Unattended-Upgrade::Origins-Pattern:: "))).toEqual([
    'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian-Security";',
    'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
  ]);
  expect(dump).toContain('DPkg::Options:: "--force-confold";');
  expect(dump).toContain('Unattended-Upgrade::Automatic-Reboot "false";');
  expect((await selfcheck()).updates).toEqual({ status: "ok", message: "unattended-upgrades and the maintenance reboot are scheduled" });
});

test("control: with apt-daily-upgrade.timer disabled the self-check's updates check is an error naming it", async () => {
  await onMachineOk(lab, "systemctl disable --now --quiet apt-daily-upgrade.timer");
  try {
    expect((await selfcheck()).updates).toEqual({
      status: "error",
      message: "apt-daily-upgrade.timer not enabled and running: security updates or the reboots they need do not happen — systemctl enable --now apt-daily-upgrade.timer (pulumi up does it too)",
    });
  } finally {
    await onMachineOk(lab, "systemctl enable --now --quiet apt-daily-upgrade.timer");
  }
  expect((await selfcheck()).updates.status).toBe("ok");
});

describe("outside the maintenance window", () => {
  let outside: string;
  beforeAll(async () => {
    outside = await windowAround(120, 180);
    await deployLab(configCopy(configFile, "maintenance-outside", { "mailserver:maintenanceWindow": outside }));
  }, DEPLOY_TIMEOUT);

  test("a missing security update: listed by the self-check, by the dry run (with the security origin), a warning a day later, in the alert mail", async () => {
    const madison = await onMachineOk(lab, `apt-cache madison ${PROBE}`);
    const version = (suite: RegExp) => madison.split("\n").find((l) => suite.test(l))?.split("|")[1].trim();
    const security = version(new RegExp(` ${CODENAME}-security/`));
    const pointRelease = version(new RegExp(` ${CODENAME}/main `));
    if (!security || !pointRelease) throw new Error(`${PROBE} has no update in ${CODENAME}-security over ${CODENAME} any more: pick another leaf package that has one\n${madison}`);
    // control: with the security version installed nothing of it is pending
    await onMachineOk(lab, `NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${PROBE}=${security}`, 300_000);
    expect((await selfcheck())["security-updates"].message).not.toContain(PROBE);

    await onMachineOk(lab, `NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades ${PROBE}=${pointRelease}`, 300_000);
    const fresh = (await selfcheck())["security-updates"];
    expect(fresh.status).toBe("ok");
    expect(fresh.message).toMatch(new RegExp(`security update\\(s\\) pending \\(.*\\b${PROBE}\\b.*\\), the oldest seen 0 h ago; unattended-upgrades installs them at its next daily run`));

    const dry = await onMachineOk(lab, "unattended-upgrade --dry-run -d 2>&1", 600_000);
    expect(dry).toContain(`Allowed origins are: origin=Debian,codename=${CODENAME},label=Debian-Security, origin=Debian,codename=${CODENAME}-security,label=Debian-Security`);
    expect(dry).toMatch(new RegExp(`Packages that will be upgraded: .*\\b${PROBE}\\b`));

    // A day later (the first-seen times moved back), and a reboot required for two days: warnings, and mailed.
    await onMachineOk(lab, "sed -i -E \"s/^[0-9]+ /$(( $(date +%s) - 2 * 86400 )) /\" /var/lib/mailserver/security-pending && " +
      "echo linux-image-lab-simulated > /run/reboot-required.pkgs && touch -d '-2 days' /run/reboot-required");
    const checks = await selfcheck();
    expect(checks["security-updates"].status).toBe("warning");
    expect(checks["security-updates"].message).toContain("unattended-upgrades did not install them");
    expect(checks.reboot).toEqual({
      status: "warning",
      message: `reboot required for linux-image-lab-simulated since 48 h — the maintenance window (${outside} UTC) has not rebooted the server: see journalctl -u mailserver-maintenance, or reboot now (systemctl reboot; mail waits in the senders' queues)`,
    });
    const subject = `[${lab.hostname}] self-check:`;
    const before = new Set(spooledWith(lab, subject).map((m) => m.id));
    await onMachine(lab, "systemctl start mailserver-selfcheck.service");
    const mail = await waitFor("the self-check mail in the relay spool", async () =>
      spooledWith(lab, subject).find((m) => !before.has(m.id) && m.meta.to?.includes(ALERT_EMAIL)), { timeoutMs: 60_000 });
    const text = mail.eml.toString();
    expect(text).toMatch(new RegExp(`^warning security-updates .*\\b${PROBE}\\b.*unattended-upgrades did not install them`, "m"));
    expect(text).toMatch(/^warning reboot reboot required for linux-image-lab-simulated since 48 h/m);
  }, 20 * 60_000);

  test("control: mailserver-maintenance (as its timer runs it) does not reboot outside the window", async () => {
    const boot = (await onMachineOk(lab, INIT_START)).trim();
    await onMachineOk(lab, "test -e /run/reboot-required && systemctl start mailserver-maintenance.service");
    const log = await onMachineOk(lab, "journalctl -u mailserver-maintenance -n 5 -o cat");
    expect(log).toContain(`reboot required (linux-image-lab-simulated); waiting for the maintenance window ${outside} UTC`);
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await onMachineOk(lab, INIT_START)).trim()).toBe(boot);
  });

  test("unattended-upgrade (a real run) installs the missing security update", async () => {
    await onMachineOk(lab, "unattended-upgrade", 20 * 60_000);
    const check = (await selfcheck())["security-updates"];
    expect(check.message).not.toContain(PROBE);
    const installed = (await onMachineOk(lab, `dpkg-query -W -f '\${Version}' ${PROBE}`)).trim();
    expect(await onMachineOk(lab, `apt-cache madison ${PROBE}`)).toMatch(new RegExp(`\\| ${installed.replace(/[.+]/g, "\\$&")} \\| \\S+ ${CODENAME}-security/`));
  }, 25 * 60_000);

  test("needrestart restarts the daemons still running a replaced library (libssl3 reinstalled), and only after it", async () => {
    const pending = async () => (await onMachineOk(lab, "needrestart -b -r l")).split("\n").filter((l) => l.startsWith("NEEDRESTART-SVC:")).map((l) => l.split(" ")[1]);
    const before = await unitPids();
    // control: the same replacement with needrestart suspended leaves them on the deleted library, and it says so
    await onMachineOk(lab, "NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall libssl3", 300_000);
    expect(await pending()).toEqual(expect.arrayContaining(TLS_UNITS));
    expect(await unitPids()).toBe(before);
    // As unattended-upgrades' dpkg run would: apt's hook runs needrestart, which restarts them by itself (not the
    // units its defaults never restart, such as dbus and systemd-logind).
    await onMachineOk(lab, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall libssl3 2>&1", 300_000);
    expect((await pending()).filter((u) => TLS_UNITS.includes(u))).toEqual([]);
    const after = await unitPids();
    for (const line of before.split("\n")) expect(after.split("\n")).not.toContain(line);
    expect((await onMachineOk(lab, `systemctl is-active ${TLS_UNITS.join(" ")} ${lab.postfixUnit} dovecot`)).split("\n").filter(Boolean))
      .toEqual(Array(TLS_UNITS.length + 2).fill("active"));
    const subject = token("after-needrestart");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: "after needrestart\n" });
    await waitForInbox(lab, bob, subject);
  }, 15 * 60_000);
});

describe("inside the maintenance window", () => {
  beforeAll(async () => {
    // No flag during the deploy: the timer must not reboot the machine under it.
    await onMachineOk(lab, "rm -f /run/reboot-required /run/reboot-required.pkgs");
    await deployLab(configCopy(configFile, "maintenance-inside", { "mailserver:maintenanceWindow": await windowAround(-10, 50) }));
  }, DEPLOY_TIMEOUT);

  test("a required reboot happens through the service the timer starts (due within 5 min), inside the window; the queue and the mailboxes survive; mail flows again", async () => {
    const subject = token("maintenance-reboot");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: "before the maintenance reboot\n" });
    await waitForInbox(lab, bob, subject);
    const boot = (await onMachineOk(lab, INIT_START)).trim();
    await onMachineOk(lab, "echo linux-image-lab-simulated > /run/reboot-required.pkgs && touch /run/reboot-required");
    expect((await selfcheck()).reboot.status).toBe("ok");

    // The timer's next run is at most 5 minutes away and starts the service: what it runs is started here as
    // the timer would (waiting for it cost CI 2.5 minutes on average; the control above does the same outside).
    const timer = "mailserver-maintenance.timer";
    expect((await onMachineOk(lab, `systemctl show -p Unit --value ${timer}`)).trim()).toBe("mailserver-maintenance.service");
    const wait = Number((await onMachineOk(lab, `echo $(( $(date -d "$(systemctl show -p NextElapseUSecRealtime --value ${timer})" +%s) - $(date +%s) ))`)).trim());
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThanOrEqual(300);
    await onMachine(lab, "systemctl start --no-block mailserver-maintenance.service");
    await waitFor("the machine to reboot by itself and answer over SSH again", async () => {
      const r = await onMachine(lab, INIT_START, 20_000);
      return r.code === 0 && r.stdout.trim() !== boot ? true : undefined;
    }, { timeoutMs: 10 * 60_000, intervalMs: 5_000 });
    await onMachine(lab, "timeout 120 systemctl is-system-running --wait || true", 150_000);
    expect((await onMachineOk(lab, `systemctl is-active ${lab.postfixUnit} dovecot opendkim rspamd`)).split("\n").filter(Boolean))
      .toEqual(["active", "active", "active", "active"]);
    expect((await onMachine(lab, "test -e /run/reboot-required")).code).not.toBe(0);
    expect((await selfcheck()).reboot).toEqual({ status: "ok", message: "no reboot required" });
    // The previous boot's journal says why it went down.
    expect(await onMachineOk(lab, "journalctl -b -1 -u mailserver-maintenance -o cat")).toMatch(/rebooting in the maintenance window/);

    expect(await waitForInbox(lab, bob, subject)).toContain("before the maintenance reboot");
    const after = token("after-maintenance-reboot");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: after, text: "after the maintenance reboot\n" });
    expect(await waitForInbox(lab, bob, after)).toContain("after the maintenance reboot");
  }, 20 * 60_000);
});
