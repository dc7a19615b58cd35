// The Mailgun stand-in process: SMTP on the host lab address that demands STARTTLS, then AUTH with a credential the
// Mailgun API stand-in holds (its store, read at every AUTH: a credential deleted through the API stops working at
// once), and stores every message as <id>.eml with <id>.json (envelope, TLS, AUTH user) in the spool directory.
import * as fs from "node:fs";
import * as path from "node:path";
import { SMTPServer, SMTPServerSession } from "smtp-server";
import { credentialValid, loadStore } from "./mailgun-api-server";

export interface RelayConfig {
  host: string;
  port: number;
  /** The Mailgun API stand-in's store: the only credentials accepted. */
  store: string;
  /** Each AUTH answered, one JSON line {at, login, accepted}. */
  authLog: string;
  cert: string;
  key: string;
  spool: string;
  /** While this file exists the relay answers 421 to every connection, as Mailgun does when it throttles. */
  pauseFile: string;
}

function main(): void {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as RelayConfig;
  fs.mkdirSync(cfg.spool, { recursive: true });
  let counter = 0;
  const tlsRequired = (session: SMTPServerSession) =>
    session.secure ? null : Object.assign(new Error("5.7.0 Must issue a STARTTLS command first"), { responseCode: 530 });
  const server = new SMTPServer({
    name: "relay.lab.test",
    key: fs.readFileSync(cfg.key),
    cert: fs.readFileSync(cfg.cert),
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: false,
    authOptional: false,
    size: 50 * 1024 * 1024,
    logger: false,
    // A 421 greeting is temporary: Postfix defers the mail and keeps it queued (RFC 5321 §3.8).
    onConnect(_session, cb) {
      if (fs.existsSync(cfg.pauseFile)) return cb(Object.assign(new Error("4.3.2 Relay paused by the lab, try again later"), { responseCode: 421 }));
      cb();
    },
    onAuth(auth, session, cb) {
      const e = tlsRequired(session);
      if (e) return cb(e);
      const accepted = credentialValid(loadStore(cfg.store), auth.username ?? "", auth.password ?? "");
      fs.appendFileSync(cfg.authLog, JSON.stringify({ at: new Date().toISOString(), login: auth.username, accepted }) + "\n", { mode: 0o600 });
      if (accepted) return cb(null, { user: auth.username });
      cb(Object.assign(new Error("5.7.8 Authentication failed"), { responseCode: 535 }));
    },
    onMailFrom(_address, session, cb) { cb(tlsRequired(session) ?? undefined); },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (b: Buffer) => chunks.push(b));
      stream.on("end", () => {
        const id = `${Date.now()}-${process.pid}-${++counter}`;
        const meta = {
          id,
          receivedAt: new Date().toISOString(),
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          tls: session.secure,
          authUser: session.user ?? null,
          remoteAddress: session.remoteAddress,
          heloName: session.hostNameAppearsAs,
        };
        // The .eml is written last, atomically: a reader that sees it also finds the sidecar.
        fs.writeFileSync(path.join(cfg.spool, `${id}.json`), JSON.stringify(meta, null, 2) + "\n");
        fs.writeFileSync(path.join(cfg.spool, `.${id}.tmp`), Buffer.concat(chunks));
        fs.renameSync(path.join(cfg.spool, `.${id}.tmp`), path.join(cfg.spool, `${id}.eml`));
        cb(null, `Queued as ${id}`);
      });
    },
  });
  server.on("error", (err) => process.stderr.write(`relay: ${err.message}\n`));
  server.listen(cfg.port, cfg.host, () => process.stderr.write(`relay stand-in on ${cfg.host}:${cfg.port}\n`));
}

if (require.main === module) main();
