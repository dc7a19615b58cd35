// Issue 13 §4: Postfix's own per-client limits. One outside address may hold at most 10 SMTP sessions at
// once (smtpd_client_connection_count_limit); the e2e suite's own address is exempt (abuseExemptRanges in
// lab/stack.yaml), the other outside addresses of the lab network are not.
import { loadLab } from "../lib/lab";
import { SmtpDialog } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const lab = loadLab();
// The second outside address: the first is the one tests/e2e/abuse/fail2ban.test.ts gets banned.
const attacker = lab.outsideAddresses?.[1];
const LIMIT = 10;

async function openMany(from: string, n: number): Promise<SmtpDialog[]> {
  const open: SmtpDialog[] = [];
  // One after another, so that the count Postfix sees is exactly the number open.
  for (let i = 0; i < n; i++) open.push(await SmtpDialog.open(lab.ip, 25, { localAddress: from }));
  return open;
}

test(`an outside address gets 421 for session ${LIMIT + 1} while it holds ${LIMIT}, and a session again once they close`, async () => {
  if (!attacker) throw new Error("lab.json has no outsideAddresses: bring the lab up again (npm run lab)");
  const held = await openMany(attacker, LIMIT);
  try {
    expect(held.map((d) => d.greeting.code)).toEqual(Array(LIMIT).fill(220));
    const extra = await SmtpDialog.open(lab.ip, 25, { localAddress: attacker });
    expect(extra.greeting.text).toMatch(/^421 4\.7\.0 .*too many connections from/);
    extra.close();
  } finally {
    held.forEach((d) => d.close());
  }
  // Control: the limit counts what is open, not who it is. Postfix learns of the closed sessions as its
  // processes finish them, so the address is served again shortly after, not at once.
  await waitFor(`a 220 greeting for ${attacker} again`, async () => {
    const again = await SmtpDialog.open(lab.ip, 25, { localAddress: attacker });
    again.close();
    return again.greeting.code === 220 ? true : undefined;
  }, { timeoutMs: 30_000 });
});

test(`the exempt address holds more than ${LIMIT} (control: the limit is per address and honours the exemption)`, async () => {
  const held = await openMany(lab.hostAddress, LIMIT + 2);
  try {
    expect(held.map((d) => d.greeting.code)).toEqual(Array(LIMIT + 2).fill(220));
  } finally {
    held.forEach((d) => d.close());
  }
});
