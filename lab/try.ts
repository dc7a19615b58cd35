// The commands `npm run lab` ends with, so that a newcomer sees the server work in a minute: send a message on
// submission, read it over IMAPS, check the whole server. tests/e2e/first-run.test.ts runs them as printed.
export interface TryTarget {
  hostname: string;
  ip: string;
  /** PEM file of the CA that issued the server's certificate (the lab's ACME). */
  caFile: string;
  from: { address: string; password: string };
  to: { address: string; password: string };
}

/** One shell word, whatever it holds. */
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Verify the server's certificate for its name against the lab's CA, with the name resolved to the lab address. */
const tls = (t: TryTarget, port: number) => `--cacert ${quote(t.caFile)} --resolve ${t.hostname}:${port}:${t.ip}`;

export function tryCommands(t: TryTarget, subject = "hello from the lab"): { send: string; read: string; status: string } {
  return {
    send: `printf ${quote(`From: ${t.from.address}\\r\\nTo: ${t.to.address}\\r\\nSubject: ${subject}\\r\\n\\r\\nIt works.\\r\\n`)} | ` +
      `curl --silent --show-error --ssl-reqd ${tls(t, 587)} --user ${quote(`${t.from.address}:${t.from.password}`)} ` +
      `--mail-from ${quote(t.from.address)} --mail-rcpt ${quote(t.to.address)} --upload-file - 'smtp://${t.hostname}:587'`,
    // UID `*` is the highest UID in the mailbox: the newest message (curl sends UID FETCH * BODY[]).
    read: `curl --silent --show-error ${tls(t, 993)} --user ${quote(`${t.to.address}:${t.to.password}`)} 'imaps://${t.hostname}/INBOX;UID=*'`,
    status: "npm run status -- --lab",
  };
}
