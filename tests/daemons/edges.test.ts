// Values at the edges (issue 21 §4) judged by the real programs: nginx -t on the configuration rendered for the
// longest domains DNS allows, mailserver-tls making a certificate for the longest hostname, fail2ban's test of an
// IPv6 ignoreip, and the VM's system accounts against the deployUser refusal. Each has a control that fails.
// Needs root (mount namespaces) and the Debian packages nginx openssl fail2ban util-linux.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { isSystemAccount } from "../../components/core/accounts";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { renderConfigFiles } from "../../components/core/render";
import { writeTree } from "../../scripts/render";
import { fixtureRaw, longDomain, renderedFile } from "../fixtures/config";

const PROGRAMS = ["nginx", "openssl", "fail2ban-client", "unshare", "mount"];
/** The longest domain accepted (253 minus the longest prefix published under it, _submissions._tcp.). */
const LONGEST = 235;
const DOMAIN = longDomain(LONGEST);
const EXTRA = longDomain(LONGEST - 1).replace(/^./, "z");
const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

let work: string;
let files: RenderedFile[];
const file = (path: string): string => renderedFile(files, path).content;

/** Runs a shell script in a private mount namespace where /etc is an overlay with `etc` on top. */
function inNamespace(etc: string, body: string[]): { rc: number; out: string } {
  const script = [
    "set -eu",
    `W=${q(work)}; U=$(mktemp -d "$W/ov.XXXX")`,
    'overlay() { mkdir -p "$U/$3/up" "$U/$3/wk"; chown --reference="$2" "$U/$3/up"; chmod --reference="$2" "$U/$3/up"; mount -t overlay overlay -o "lowerdir=$1,upperdir=$U/$3/up,workdir=$U/$3/wk" "$2"; }',
    `overlay ${q(etc)}:/etc /etc etc`,
    // mailserver-tls keeps its fingerprint in /var/lib/mailserver: never the host's.
    "overlay /var/lib /var/lib varlib",
    ...body,
  ].join("\n");
  writeFileSync(join(work, "run.sh"), `${script}\n`);
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", join(work, "run.sh")], { encoding: "utf8" });
  return { rc: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** The rendered tree's /etc with one file replaced. */
function etcWith(path: string, content: string): string {
  const dir = mkdtempSync(join(work, "tree-"));
  writeTree(files.map((f) => (f.path === path ? { ...f, content } : f)), dir);
  return join(dir, "etc");
}

beforeAll(async () => {
  const missing = PROGRAMS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing programs: ${missing.join(", ")} — apt-get install nginx openssl fail2ban util-linux`);
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root: it checks the files at their real paths in a mount namespace");
  work = mkdtempSync(join(tmpdir(), "mailserver-edges-"));
  chmodSync(work, 0o755);
  files = await renderConfigFiles(parseConfig(fixtureRaw({
    "mailserver:domain": DOMAIN, "mailserver:hostname": undefined, "mailserver:users": "[]", "mailserver:aliases": "[]",
    "mailserver:extraDomains": JSON.stringify([{ name: EXTRA, zoneId: "zone-2" }]), "mailserver:dmarcReportEmail": "reports@example.net",
  })));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe(`nginx with the longest domains (${LONGEST} characters, labels of 63)`, () => {
  const NGINX = "/etc/nginx/nginx.conf";
  const tls = [
    "mkdir -p /etc/mailserver/tls",
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -days 2 -keyout /etc/mailserver/tls/privkey.pem -out /etc/mailserver/tls/fullchain.pem 2>/dev/null",
  ];

  test("nginx -t accepts the rendered configuration", () => {
    expect(file(NGINX)).toContain(`server_name mta-sts.${DOMAIN} mta-sts.${EXTRA};`);
    const r = inNamespace(etcWith(NGINX, file(NGINX)), [...tls, `nginx -t -q -c ${NGINX}`]);
    expect(r).toEqual({ rc: 0, out: "" });
  });

  test("control: without our server_names_hash_bucket_size nginx -t refuses it (the bug: every later apply stopped)", () => {
    const without = file(NGINX).replace(/^ {2}server_names_hash_bucket_size \d+;\n/m, "");
    expect(without).not.toBe(file(NGINX));
    const r = inNamespace(etcWith(NGINX, without), [...tls, `nginx -t -q -c ${NGINX}`]);
    expect(r.rc).not.toBe(0);
    expect(r.out).toContain("server_names_hash_bucket_size");
  });
});

describe(`mailserver-tls for a hostname of ${LONGEST + 5} characters`, () => {
  const SCRIPT = join(__dirname, "../../templates/provision/mailserver-tls.sh");
  const hostname = `mail.${DOMAIN}`;

  /** mailserver-tls install k1 in self-signed mode (the CSR for ACME is made by the same lines), systemctl a no-op. */
  function install(script: string): { rc: number; out: string } {
    const dir = mkdtempSync(join(work, "tls-"));
    mkdirSync(join(dir, "etc/mailserver"), { recursive: true });
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin/systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    writeFileSync(join(dir, "mailserver-tls"), script, { mode: 0o755 });
    const names = [hostname, `mta-sts.${DOMAIN}`, `autoconfig.${DOMAIN}`, `autodiscover.${DOMAIN}`];
    writeFileSync(join(dir, "etc/mailserver/tls.conf"), [
      "TLS_MODE=self-signed", `CERT_NAMES=(${names.map(q).join(" ")})`, "ACME_SERVER=https://acme.invalid/dir", "ACME_EMAIL=a@example.net",
      `TLS_DIR=${q(join(dir, "tls"))}`, `TLS_CERT=${q(join(dir, "tls/fullchain.pem"))}`, `TLS_KEY=${q(join(dir, "tls/privkey.pem"))}`, "",
    ].join("\n"));
    return inNamespace(join(dir, "etc"), [
      `mkdir -p ${q(join(dir, "tls"))}`,
      `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 > ${q(join(dir, "key.pem"))}`,
      `PATH=${q(join(dir, "bin"))}:$PATH bash ${q(join(dir, "mailserver-tls"))} install k1 < ${q(join(dir, "key.pem"))}`,
      `openssl x509 -noout -subject -ext subjectAltName -in ${q(join(dir, "tls/fullchain.pem"))}`,
    ]);
  }

  test("a certificate is made: no CN (longer than 64), every name in the SAN", () => {
    const r = install(readFileSync(SCRIPT, "utf8"));
    expect(r.rc).toBe(0);
    expect(r.out).toContain("tls: new certificate for key k1");
    expect(r.out).toMatch(/^subject=\s*$/m);
    expect(r.out).toContain(`DNS:${hostname}`);
    expect(r.out).toContain(`DNS:autodiscover.${DOMAIN}`);
  });

  test("control: with the hostname as CN, openssl refuses it and no certificate is made", () => {
    const script = readFileSync(SCRIPT, "utf8");
    const asBefore = script.replace(' [ "${#CERT_NAMES[0]}" -le 64 ] || subj="/"', "");
    expect(asBefore).not.toBe(script);
    const r = install(asBefore);
    expect(r.rc).not.toBe(0);
    expect(r.out).not.toContain("tls: new certificate");
  });
});

describe("fail2ban with IPv6 in abuseExemptRanges", () => {
  const JAIL = "/etc/fail2ban/jail.d/mailserver.local";
  function test2ban(jail: string): { rc: number; out: string } {
    const dir = mkdtempSync(join(work, "fail2ban-"));
    cpSync("/etc/fail2ban", dir, { recursive: true });
    for (const f of files.filter((x) => x.path.startsWith("/etc/fail2ban/"))) {
      const target = join(dir, f.path.slice("/etc/fail2ban/".length));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.path === JAIL ? jail : f.content);
    }
    const r = spawnSync("fail2ban-client", ["-c", dir, "--test"], { encoding: "utf8" });
    return { rc: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  }

  test("the rendered jail (the fixture exempts 2001:db8:1::/48) passes fail2ban's configuration test", () => {
    expect(file(JAIL)).toMatch(/^ignoreip = .* 2001:db8:1::\/48$/m);
    const r = test2ban(file(JAIL));
    expect(r.out).toContain("OK: configuration test is successful");
  });

  test("control: a zone id, which the config now refuses, fails it", () => {
    const r = test2ban(file(JAIL).replace("2001:db8:1::/48", "fe80::1%eth0/64"));
    expect(r.out).not.toContain("OK: configuration test is successful");
    expect(r.out).toContain("'%' must be followed by '%' or '('");
  });
});

test("deployUser: every system account of this Debian 12 (with the mail packages installed) is refused; a person's is not", () => {
  const passwd = readFileSync("/etc/passwd", "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  const system = passwd.filter(([, , uid]) => Number(uid) < 1000 || Number(uid) >= 65534).map(([name]) => name);
  expect(system).toEqual(expect.arrayContaining(["root", "www-data", "postfix", "dovecot", "opendkim", "_rspamd", "nobody"]));
  expect(system.filter((name) => !isSystemAccount(name))).toEqual([]);
  expect(isSystemAccount("deploy")).toBe(false);
});
