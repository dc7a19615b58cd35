// npm run status -- --stack <name> | --lab  [--json] [--mailbox <address>] [--outside-address <address>] [--ehlo <fqdn>] [--resolver <address>]
//
// Checks a deployed server from outside (DNS from the authoritative servers, TLS on every mail port, closed
// ports, no open relay, no forged hosted sender, a round trip 587 → IMAP, blocklists) and from inside over
// SSH (mailserver-selfcheck: daemons, queue, disks, certificate, renewal, relay, update timers, pending
// security updates, reboot required). One line per check, or
// --json; exit status 1 when any check is an error.
//
// With mailserver:dnssec, the TLSA records of _25._tcp.<hostname> are compared with the key port 25 presents
// and the stack's tlsaRecords output, and --resolver (a validating resolver, "address[:port]"; default the
// system's; in the lab, the lab's) is asked whether it authenticates them (AD).
//
// The round trip's mailbox: --mailbox <address>, its password in MAILSERVER_STATUS_PASSWORD (never on the
// command line). In the lab it defaults to the first lab user, whose password lab.json holds.
import { parseArgs } from "node:util";
import { labTarget } from "../lab/status-target";
import { runChecks, StatusTarget } from "../components/status/checks";
import { exitCode, formatJson, formatLines, printable, summary } from "../components/status/result";
import { stackTarget } from "./status-stack";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      lab: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      mailbox: { type: "string" },
      "outside-address": { type: "string", default: "status-probe@example.org" },
      ehlo: { type: "string", default: "status-check.invalid" },
      resolver: { type: "string" },
    },
  });
  if (values.lab === (values.stack !== undefined)) {
    console.error("usage: npm run status -- --stack <name> | --lab  [--json] [--mailbox <address>] [--outside-address <address>] [--ehlo <fqdn>] [--resolver <address>]");
    return 2;
  }
  let target: StatusTarget;
  let cleanup: () => void = () => undefined;
  if (values.lab) {
    target = labTarget(values.mailbox, values.resolver);
  } else {
    const password = process.env.MAILSERVER_STATUS_PASSWORD;
    const mailbox: StatusTarget["mailbox"] = values.mailbox === undefined
      ? { none: "not run: give --mailbox <address> and its password in MAILSERVER_STATUS_PASSWORD" }
      : password ? { address: values.mailbox, password } : { none: `not run: set MAILSERVER_STATUS_PASSWORD to the password of ${values.mailbox}` };
    ({ target, cleanup } = stackTarget(values.stack ?? "", {
      ehloName: values.ehlo, outsideAddress: values["outside-address"], mailbox, ...(values.resolver ? { resolver: values.resolver } : {}),
    }));
  }
  try {
    const results = await runChecks(target);
    process.stdout.write(values.json ? formatJson(results) : formatLines(results) + `\n${summary(results)}\n`);
    return exitCode(results);
  } finally {
    cleanup();
  }
}

main().then((code) => process.exit(code), (e: Error) => {
  console.error(printable(e.message));
  process.exit(2);
});
