// The rendered configuration run by the real Postfix, Dovecot, OpenDKIM, rspamd and nginx, in namespaces of its own:
// a mount namespace where /etc is an overlay with the rendered tree on top (Postfix's queue and data
// directories are overlays too, /srv and /run are tmpfs), a network namespace where the server listens on
// 10.77.0.1 and "outside" clients come from 10.77.0.2 (not in mynetworks), and a PID namespace whose end
// takes every daemon with it. The host's /etc, spool and daemons are never touched, and its ports never
// clash with ours.
//
// The test talks SMTP/IMAP from its own process through Unix sockets in the work directory: a forwarder
// inside the network namespace connects each of them to one port of the server, from the outside address.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RenderedFile } from "../../../components/core/files";
import { TLS_CERT, TLS_KEY, VMAIL_ID, MAIL_HOME } from "../../../components/core/layout";
import { writeTree } from "../../../scripts/render";

export const SERVER_IP = "10.77.0.1";
export const CLIENT_IP = "10.77.0.2";
/** Ports the forwarder exposes; 143 and 110 too, so that a test can see they are closed. */
export const PORTS = [25, 110, 143, 443, 465, 587, 993, 995] as const;
export type Port = (typeof PORTS)[number];

export const PROGRAMS = ["postfix", "postmap", "newaliases", "dovecot", "opendkim", "rspamd", "policyd-rate-limit", "nginx", "openssl", "unshare", "nsenter",
  "ip", "ss", "install", "useradd", "groupadd"];

/** LIVE_SERVER_DEBUG=1: trace the setup on stderr and keep the work directory. */
const DEBUG = Boolean(process.env.LIVE_SERVER_DEBUG);
const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export interface Run { rc: number; out: string; err: string }

export interface LiveServer {
  /** Work directory on the host: forwarder sockets live here. */
  work: string;
  /** Unix socket that reaches SERVER_IP:port from CLIENT_IP. */
  socket(port: Port): string;
  /** Runs a command inside the namespaces (mount, network, PID). */
  exec(argv: string[], input?: string): Run;
  stop(): Promise<void>;
}

/** The namespace's PID 1 runs this: set up, apply the files as mailserver-apply does, start, wait. */
function setupScript(files: RenderedFile[], work: string, nodeBin: string): string {
  const tree = join(work, "tree");
  return [
    "set -eu",
    "PS4='+ $EPOCHREALTIME '",
    `W=${q(work)}; R=${q(tree)}`,
    // The merged directory takes the upper directory's owner and mode: copy them from the real one.
    'overlay() { u="$W/ov$(echo "$2" | tr / _)"; mkdir -p "$u/up" "$u/wk"; chown --reference="$2" "$u/up"; chmod --reference="$2" "$u/up"; mount -t overlay overlay -o "lowerdir=$1,upperdir=$u/up,workdir=$u/wk" "$2"; }',
    "ip link set lo up",
    // On lo: a dummy link needs a kernel module that containers often lack. What counts is the address.
    `ip addr add ${SERVER_IP}/24 dev lo`,
    `ip addr add ${CLIENT_IP}/24 dev lo`,
    'overlay "$R/etc:/etc" /etc',
    "overlay /var/spool/postfix /var/spool/postfix",
    "overlay /var/lib/postfix /var/lib/postfix",
    "[ ! -d /var/lib/dovecot ] || overlay /var/lib/dovecot /var/lib/dovecot",
    "overlay /var/lib/rspamd /var/lib/rspamd",
    "overlay /var/log/nginx /var/log/nginx",
    // /run: Dovecot's and OpenDKIM's sockets and pid files; no syslog there, so nothing reaches the host's journal.
    "mount -t tmpfs -o mode=0755 tmpfs /run",
    "mount -t tmpfs -o mode=0755 tmpfs /srv",
    // DNS fails at once (nothing listens), instead of timing out on a resolver this namespace cannot reach.
    "echo 'nameserver 127.0.0.1' > /etc/resolv.conf",
    "cp /etc/resolv.conf /var/spool/postfix/etc/resolv.conf",
    `printf '127.0.0.1 localhost\\n${SERVER_IP} mail.example.com\\n' > /etc/hosts`,
    // What provisioning does: the vmail user and the mail home, a certificate at the stable paths.
    `getent group vmail >/dev/null || groupadd --gid ${VMAIL_ID} vmail`,
    `getent passwd vmail >/dev/null || useradd --uid ${VMAIL_ID} --gid vmail --home-dir ${MAIL_HOME} --no-create-home --shell /usr/sbin/nologin vmail`,
    `install -d -o vmail -g vmail -m 0750 ${MAIL_HOME}`,
    `mkdir -p $(dirname ${TLS_CERT})`,
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=mail.example.com ` +
      `-addext subjectAltName=DNS:mail.example.com -keyout ${TLS_KEY} -out ${TLS_CERT} 2>/dev/null`,
    `chmod 0600 ${TLS_KEY}`,
    // What mailserver-apply does: install -m mode -o owner -g group, then the rebuilds.
    ...files.map((f) => `install -m ${f.mode} -o ${f.owner} -g ${f.group} "$R"${q(f.path)} ${q(f.path)}`),
    ...files.filter((f) => f.rebuild === "postmap").map((f) => `postmap ${q(f.path)}`),
    "newaliases",
    "install -d -o opendkim -g opendkim -m 0750 /run/opendkim",
    "opendkim -x /etc/opendkim.conf",
    // Nothing answers DNS in this namespace: short timeouts, so that rspamd's lookups end at once.
    "printf 'dns {\\n  timeout = 0.2s;\\n  retransmits = 1;\\n}\\n' >> /etc/rspamd/override.d/options.inc",
    "install -d -o _rspamd -g _rspamd -m 0755 /run/rspamd",
    "rspamd -c /etc/rspamd/rspamd.conf -u _rspamd -g _rspamd",
    // The per-login sending limit Postfix asks on submission; its counts go to the tmpfs, not the host's /var/lib.
    "sed -i 's#/var/lib/policyd-rate-limit/#/run/policyd-rate-limit-db/#' /etc/policyd-rate-limit.yaml",
    "policyd-rate-limit </dev/null >/dev/null 2>&1 &",
    "dovecot -c /etc/dovecot/dovecot.conf",
    "nginx -c /etc/nginx/nginx.conf",
    "postfix start 2>\"$W/postfix-start.log\"",
    // Ready when every listener is up (the milters' too: Postfix tempfails mail without them).
    "for _ in $(seq 200); do",
    "  open=$(ss -Hltn | awk '{print $4}' | sed 's/.*://' | sort -un | tr '\\n' ' ')",
    "  up=1; for p in 25 443 465 587 993 995 8891 11332; do case \" $open\" in *\" $p \"*) ;; *) up=0 ;; esac; done",
    "  [ $up = 0 ] || break",
    "  sleep 0.05",
    "done",
    "for _ in $(seq 200); do [ -S /var/spool/postfix/ratelimit/policy ] && break; sleep 0.05; done",
    `test -S /var/spool/postfix/private/dovecot-lmtp && test -S /var/spool/postfix/private/auth && test -S /var/spool/postfix/ratelimit/policy`,
    // One forwarder for all ports: Unix socket in the work directory → SERVER_IP:port from CLIENT_IP.
    `${q(nodeBin)} -e ${q(FORWARDER)} "$W" ${SERVER_IP} ${CLIENT_IP} ${PORTS.join(" ")} &`,
    `for _ in $(seq 200); do [ -S "$W/fwd-${PORTS[PORTS.length - 1]}.sock" ] && break; sleep 0.05; done`,
    'ss -Hltn > "$W/listening"',
    'touch "$W/ready"',
    // PID 1 stays, reaping, until the test kills it (and with it the namespace).
    "while :; do sleep 3600 & wait $!; done",
  ].join("\n") + "\n";
}

/** Plain JavaScript on purpose: node runs it inside the namespace without a compile step. */
const FORWARDER = `
const net = require("net");
const [dir, host, src, ...ports] = process.argv.slice(1);
for (const port of ports) {
  net.createServer((c) => {
    const u = net.connect({ host, port: Number(port), localAddress: src });
    c.pipe(u); u.pipe(c);
    u.on("error", () => c.destroy()); c.on("error", () => u.destroy());
  }).listen(dir + "/fwd-" + port + ".sock");
}`;

export async function startLiveServer(files: RenderedFile[]): Promise<LiveServer> {
  const missing = PROGRAMS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing programs: ${missing.join(", ")}`);
  if (process.getuid?.() !== 0) throw new Error("the live server runs as root: it needs mount, network and PID namespaces");
  const work = mkdtempSync(join(tmpdir(), "live-server-"));
  chmodSync(work, 0o755);
  writeTree(files, join(work, "tree"));
  writeFileSync(join(work, "setup.sh"), setupScript(files, work, process.execPath));
  const child: ChildProcess = spawn("unshare", ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
    "--propagation", "private", "bash", ...(DEBUG ? ["-x"] : []), join(work, "setup.sh")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); if (DEBUG) process.stderr.write(d); });
  // The namespace dies with the test process, even if afterAll never runs.
  const kill = () => { try { child.kill("SIGKILL"); } catch { /* already gone */ } };
  process.once("exit", kill);

  const stop = async () => {
    process.removeListener("exit", kill);
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => { child.once("exit", r); kill(); });
    }
    if (!DEBUG) rmSync(work, { recursive: true, force: true });
  };
  try {
    for (let i = 0; !existsSync(join(work, "ready")); i++) {
      if (child.exitCode !== null) throw new Error(`the namespace setup failed (${child.exitCode}): ${stderr}`);
      // Generous: on a loaded CI machine rspamd alone can take minutes to load its configuration.
      if (i > 6000) throw new Error(`the server did not come up in 300 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // --fork: the namespace's PID 1 is unshare's only child.
    const pid = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/)[0];
    return {
      work,
      socket: (port) => join(work, `fwd-${port}.sock`),
      exec: (argv, input) => {
        const r = spawnSync("nsenter", ["-t", pid, "-m", "-n", "-p", "--", ...argv], { input, encoding: "utf8", timeout: 30_000 });
        return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
