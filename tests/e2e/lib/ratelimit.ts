// policyd-rate-limit on the lab machine: counts recipients per login over a sliding hour in sqlite.
import { Lab } from "./lab";
import { onMachineOk, shellQuote } from "./machine";

const DB = "/var/lib/policyd-rate-limit/db.sqlite3";

/**
 * The recipients policyd-rate-limit counts against `login` this hour: Debian 12's 1.0.1 keeps a row per recipient,
 * 13's 1.2 a row per message with its recipient_count.
 */
export async function sendCount(lab: Lab, login: string): Promise<number> {
  const script = ["import sqlite3, sys", `c = sqlite3.connect("${DB}")`,
    'n = "SUM(recipient_count)" if "recipient_count" in [x[1] for x in c.execute("PRAGMA table_info(mail_count)")] else "COUNT(*)"',
    'print(c.execute("SELECT COALESCE(" + n + ", 0) FROM mail_count WHERE id = ?", (sys.argv[1],)).fetchone()[0])'].join("\n");
  return Number((await onMachineOk(lab, `python3 -c ${shellQuote(script)} ${shellQuote(login)}`)).trim());
}

/** Drops `login`'s recipient counts, so a test starts (and leaves) it at zero. */
export async function forgetSendCounts(lab: Lab, login: string): Promise<void> {
  await onMachineOk(lab, `python3 -c 'import sqlite3, sys; c = sqlite3.connect("${DB}"); ` +
    `c.execute("DELETE FROM mail_count WHERE id = ?", (sys.argv[1],)); c.commit()' ${shellQuote(login)}`);
}
