// Issue 5: a configuration the daemons refuse is not installed. The deploy's own tools (the staging and
// apply scripts that every `pulumi up` runs over SSH) get a broken main.cf; the update fails with Postfix's
// own message, the live file stays as it was, Postfix is not restarted, and mail keeps flowing.
import { loadLab, labUser, token } from "./lib/lab";
import { onMachine, onMachineOk } from "./lib/machine";
import { waitForInbox } from "./lib/imap";
import { submission } from "./lib/smtp";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");

const liveState = () => onMachineOk(lab, "sha256sum /etc/postfix/main.cf | cut -d' ' -f1; cat /var/spool/postfix/pid/master.pid | tr -d ' '");

afterAll(async () => {
  // Stage the live file again, so that staged and live agree for the next deploy.
  await onMachineOk(lab, "mailserver-stage /etc/postfix/main.cf 0644 root root < /etc/postfix/main.cf >/dev/null");
});

test("a broken main.cf is refused with Postfix's message; the running configuration keeps working", async () => {
  const before = await liveState();
  const broken = await onMachine(lab, [
    "printf 'myhostname = mail.example.test\\nthis line has no equals sign\\n' | mailserver-stage /etc/postfix/main.cf 0644 root root >/dev/null",
    "echo '/etc/postfix/main.cf postfix -' | mailserver-apply",
  ].join("\n"));
  expect(broken.code).not.toBe(0);
  expect(broken.stderr).toContain("configuration refused, live files unchanged: postconf -n");
  expect(broken.stderr).toMatch(/missing '=' after attribute name/);

  expect(await liveState()).toBe(before);
  const subject = token("after-refusal");
  await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject, text: "still flowing\n" });
  expect(await waitForInbox(lab, bob, subject)).toContain("still flowing");
});
