// Issue 13 §4: repeated failed logins from one address ban that address from the mail ports (fail2ban),
// while the other addresses keep working; an unban lets it back. The attacker and the bystander are two
// outside addresses of the lab network that abuseExemptRanges does not name (lab.json outsideAddresses).
import { Lab, LabUser, labUser, loadLab } from "../lib/lab";
import { imapLogin, smtpLogin } from "../lib/login";
import { onMachineOk } from "../lib/machine";
import { tcpState } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const [attacker, bystander] = outsideAddresses(lab);
const alice = labUser(lab, "alice@example.test");
const wrong = (u: LabUser): LabUser => ({ ...u, password: `${u.password}-wrong` });
/** lab/stack.yaml keeps the defaults: banAfterFailures 5, banMinutes 60. */
const FAILURES = 5;
const BAN_SECONDS = 60 * 60;
const MAIL_PORTS = [25, 465, 587, 993, 995];

function outsideAddresses(l: Lab): [string, string] {
  const [a, b] = l.outsideAddresses ?? [];
  if (!a || !b) throw new Error("lab.json has no outsideAddresses: bring the lab up again (npm run lab)");
  return [a, b];
}

const banned = async (address: string): Promise<boolean> =>
  (await onMachineOk(lab, "fail2ban-client banned")).includes(`'${address}'`);

async function unbanAll(): Promise<void> {
  await onMachineOk(lab, "fail2ban-client unban --all >/dev/null");
}

beforeAll(unbanAll);
afterAll(unbanAll);

describe.each([
  ["SMTP AUTH on 587", "postfix-sasl", async (from: string, u: LabUser) => String(await smtpLogin(lab, from, u)), "535", "235"],
  ["IMAP LOGIN on 993", "dovecot-auth", (from: string, u: LabUser) => imapLogin(lab, from, u), "NO", "OK"],
])("%s", (_label, jail, login, refused, accepted) => {
  afterAll(unbanAll);

  test(`${FAILURES} wrong passwords ban the address from every mail port`, async () => {
    for (let i = 0; i < FAILURES; i++) expect(await login(attacker, wrong(alice))).toBe(refused);
    await waitFor(`fail2ban's ${jail} jail to ban ${attacker}`, async () =>
      ((await onMachineOk(lab, `fail2ban-client get ${jail} banned ${attacker}`)).trim() === "1" ? true : undefined), { timeoutMs: 30_000 });
    for (const port of MAIL_PORTS) expect([port, await tcpState(lab.ip, port, 5_000, attacker)]).toEqual([port, "refused"]);
    // SSH is never banned.
    expect(await tcpState(lab.ip, 22, 5_000, attacker)).toBe("open");
  });

  test("the ban ends after banMinutes: fail2ban records exactly that duration for it", async () => {
    // "<ip> \t<start> + <seconds> = <end>": fail2ban's own record of the ban, from which it unbans.
    const held = await onMachineOk(lab, `fail2ban-client get ${jail} banip --with-time`);
    expect(held).toMatch(new RegExp(`^${attacker.replace(/\./g, "\\.")}\\s.* \\+ ${BAN_SECONDS} = `, "m"));
  });

  test("another address still logs in (control: the ban is per address, and the right password works)", async () => {
    expect(await banned(attacker)).toBe(true);
    expect(await login(bystander, alice)).toBe(accepted);
    expect(await smtpLogin(lab, bystander, alice)).toBe(235);
    expect(await imapLogin(lab, bystander, alice)).toBe("OK");
  });

  test("unban lets the address back", async () => {
    await onMachineOk(lab, `fail2ban-client unban ${attacker} >/dev/null`);
    expect(await banned(attacker)).toBe(false);
    for (const port of MAIL_PORTS) expect([port, await tcpState(lab.ip, port, 5_000, attacker)]).toEqual([port, "open"]);
    expect(await login(attacker, alice)).toBe(accepted);
  });
});
