// IMAP fetch as a mail client does it after a while away: connect (993), log in, SELECT INBOX, SEARCH the
// run's subject, FETCH every message's full source (BODY[]). Timed from connect to the last byte.
import { Lab, LabUser } from "../../tests/e2e/lib/lab";
import { withImap } from "../../tests/e2e/lib/imap";
import { wallClockMs } from "./mail-load";

export interface FetchResult {
  seconds: number;
  messages: number;
  bytes: number;
}

export async function imapFetchAll(lab: Lab, user: LabUser, subject: string): Promise<FetchResult> {
  const t0 = wallClockMs();
  const got = await withImap(lab, user, async (c) => {
    const lock = await c.getMailboxLock("INBOX");
    try {
      const uids = (await c.search({ subject }, { uid: true })) || [];
      let messages = 0;
      let bytes = 0;
      if (uids.length === 0) return { messages, bytes };
      for await (const m of c.fetch(uids, { source: true }, { uid: true })) {
        messages += 1;
        bytes += m.source?.length ?? 0;
      }
      return { messages, bytes };
    } finally {
      lock.release();
    }
  });
  return { seconds: (wallClockMs() - t0) / 1000, ...got };
}
