// Issue 13 §4: Postfix's per-client rate and error limits, attacked from outside. An outside address gets
// 421 on its 61st connection within a minute (smtpd_client_connection_rate_limit, anvil), while the exempt
// address does not; a session that makes 10 errors is cut off (smtpd_hard_error_limit), one that makes 9 is
// still served. The rate attack uses the lab's third outside address: it stays refused for up to a minute.
import { loadLab } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { SmtpDialog } from "../lib/smtp";

const lab = loadLab();
const [, errorMaker, flooder] = lab.outsideAddresses ?? [];
/** lab/stack.yaml keeps the defaults (core/abuse.ts): 60 connections a minute, 10 errors a session. */
const RATE = 60;
const HARD_ERRORS = 10;

/** Connects, reads the greeting and leaves politely: one connection as anvil counts them. */
async function greeting(from: string): Promise<string> {
  const d = await SmtpDialog.open(lab.ip, 25, { localAddress: from });
  const text = d.greeting.text;
  if (d.greeting.code === 220) await d.command("QUIT");
  d.close();
  return text;
}

beforeAll(() => {
  if (!errorMaker || !flooder) throw new Error("lab.json has fewer than three outsideAddresses: bring the lab up again (npm run lab)");
});

test(`an outside address is refused its connection ${RATE + 1} within a minute, and Postfix says it is the rate`, async () => {
  const since = (await onMachineOk(lab, "date '+%Y-%m-%d %H:%M:%S'")).trim();
  const greetings: string[] = [];
  for (let i = 0; i <= RATE; i++) greetings.push(await greeting(flooder));
  expect(greetings.slice(0, RATE).filter((g) => !g.startsWith("220 "))).toEqual([]);
  expect(greetings[RATE]).toMatch(/^421 4\.7\.0 .*too many connections from/);
  // The same 421 text serves the session-count limit: the log tells which limit refused it.
  const log = await onMachineOk(lab, `journalctl -u ${lab.postfixUnit} --since '${since}' --no-pager -o cat | grep -F 'rate limit exceeded' || true`);
  expect(log).toContain(`Connection rate limit exceeded: ${RATE + 1} from `);
  expect(log).toContain(`[${flooder}]`);
});

test(`control: the exempt address makes more than ${RATE} connections in the same minute`, async () => {
  for (let i = 0; i <= RATE + 4; i++) expect(await greeting(lab.hostAddress)).toMatch(/^220 /);
});

describe("errors in one session", () => {
  /** Sends `n` commands Postfix does not know (each one error), then NOOP; the last error's reply and NOOP's. */
  async function errors(n: number): Promise<{ last: string; noop: string }> {
    const d = await SmtpDialog.open(lab.ip, 25, { localAddress: errorMaker });
    try {
      let last = "";
      for (let i = 0; i < n; i++) last = (await d.command("XYZZY")).text;
      const noop = await d.command("NOOP").then((r) => r.text, (e: Error) => `closed: ${e.message}`);
      return { last, noop };
    } finally {
      d.close();
    }
  }

  // Postfix checks the count before it reads the next command: after the 10th error's 500 it says 421 and
  // hangs up, whatever comes next.
  test(`after the ${HARD_ERRORS}th error the session ends with 421`, async () => {
    const { last, noop } = await errors(HARD_ERRORS);
    expect(last).toMatch(/^500 5\.5\.2 /);
    expect(noop).toMatch(/^421 4\.7\.0 .*too many errors/i);
  }, 60_000);

  test(`control: after ${HARD_ERRORS - 1} errors the session is still served`, async () => {
    const { last, noop } = await errors(HARD_ERRORS - 1);
    expect(last).toMatch(/^500 5\.5\.2 /);
    expect(noop).toMatch(/^250 /);
  }, 60_000);
});
