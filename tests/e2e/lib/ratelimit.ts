// policyd-rate-limit on the lab machine: counts recipients per login over a sliding hour in sqlite.
import { Lab } from "./lab";
import { onMachineOk, shellQuote } from "./machine";

const DB = "/var/lib/policyd-rate-limit/db.sqlite3";

/** The recipients policyd-rate-limit counts against `login` this hour. */
export async function sendCount(lab: Lab, login: string): Promise<number> {
  return Number((await onMachineOk(lab, `python3 -c 'import sqlite3, sys; print(sqlite3.connect("${DB}")` +
    `.execute("SELECT COUNT(*) FROM mail_count WHERE id = ?", (sys.argv[1],)).fetchone()[0])' ${shellQuote(login)}`)).trim());
}

/** Drops `login`'s recipient counts, so a test starts (and leaves) it at zero. */
export async function forgetSendCounts(lab: Lab, login: string): Promise<void> {
  await onMachineOk(lab, `python3 -c 'import sqlite3, sys; c = sqlite3.connect("${DB}"); ` +
    `c.execute("DELETE FROM mail_count WHERE id = ?", (sys.argv[1],)); c.commit()' ${shellQuote(login)}`);
}
