// Issue 21 §2: nothing on the VM but root can act as the VM. A daemon's account taken over (vmail, www-data,
// _rspamd, opendkim, nobody) asks the metadata server for the service account's token, with which it could
// read the relay password from Secret Manager or overwrite the guest attribute that publishes the host key:
// refused. Root still gets its token and the relay secret; everyone still gets DNS from the metadata server's
// address (the VM's resolver on GCE); and the guard is back by itself after a reboot.
import { createHash } from "node:crypto";
import { loadLab } from "../lib/lab";
import { onMachine, onMachineOk, shellQuote } from "../lib/machine";
import { stateOutputs } from "../lib/deploy";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const TOKEN_URL = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token";
const ACCOUNTS = ["vmail", "www-data", "_rspamd", "opendkim", "nobody"];
const GUARD = "inet mailserver_metadata";

/** Asks for the service account's token as `user` ("root" without runuser); the token itself is never printed. */
async function tokenAs(user: string): Promise<{ code: number | null; got: boolean; stderr: string }> {
  const as = user === "root" ? "" : `runuser -u ${shellQuote(user)} -- `;
  const r = await onMachine(lab, `${as}curl -sS --max-time 5 -H 'Metadata-Flavor: Google' ${TOKEN_URL} | grep -c '"access_token"'`);
  return { code: r.code, got: r.stdout.trim() === "1", stderr: r.stderr.trim() };
}

/** A DNS question for the lab hostname's A record to 169.254.169.254:53 over UDP, as `user`; the answer count. */
async function dnsAnswersAs(user: string): Promise<number> {
  const py = [
    "import socket, struct, sys",
    "name = sys.argv[1]",
    "q = struct.pack('>HHHHHH', 0x4242, 0x0100, 1, 0, 0, 0) + b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\\0' + struct.pack('>HH', 1, 1)",
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)",
    "s.sendto(q, ('169.254.169.254', 53))",
    "print(struct.unpack('>H', s.recv(4096)[6:8])[0])",
  ].join("\n");
  const out = await onMachineOk(lab, `runuser -u ${shellQuote(user)} -- python3 -c ${shellQuote(py)} ${shellQuote(lab.hostname)}`);
  return Number(out.trim());
}

test("the guard is installed: its own nftables table, loaded by an enabled unit before the network", async () => {
  expect(await onMachineOk(lab, `nft list table ${GUARD}`)).toMatch(/meta skuid != 0 .*reject/);
  expect((await onMachineOk(lab, "systemctl is-enabled mailserver-metadata-guard.service; systemctl is-active mailserver-metadata-guard.service")).trim().split("\n"))
    .toEqual(["enabled", "active"]);
});

test.each(ACCOUNTS)("%s asking the metadata server for the service account's token is refused", async (user) => {
  const r = await tokenAs(user);
  expect([user, r.got]).toEqual([user, false]);
  // curl could not connect (7): the packet never left the VM; not an HTTP error from the server.
  expect(r.stderr).toMatch(/curl: \(7\)/);
});

test("control: root gets a token, and reads the relay password from Secret Manager with it (mailserver-secret)", async () => {
  expect((await tokenAs("root")).got).toBe(true);
  const version = String(stateOutputs("gcp:secretmanager/secretVersion:SecretVersion", "mail-relay-password").name);
  const hash = (await onMachineOk(lab, `/usr/local/sbin/mailserver-secret ${shellQuote(version)} | sha256sum | cut -d' ' -f1`)).trim();
  expect(hash).toBe(createHash("sha256").update(lab.relay.password).digest("hex"));
  // The same script as vmail gets no token, so no password.
  const asVmail = await onMachine(lab, `runuser -u vmail -- /usr/local/sbin/mailserver-secret ${shellQuote(version)} | wc -c`);
  expect([asVmail.code, asVmail.stdout.trim()]).not.toEqual([0, String(lab.relay.password.length)]);
  expect(asVmail.stdout.trim()).toBe("0");
});

test("DNS from the metadata server's address stays open to every account (GCE's resolver)", async () => {
  for (const user of ["vmail", "nobody"]) expect([user, await dnsAnswersAs(user)]).toEqual([user, 1]);
});

test("break it: without the guard table, vmail gets the token (the test above can fail); provisioning's unit puts it back", async () => {
  await onMachineOk(lab, `nft delete table ${GUARD}`);
  try {
    expect((await tokenAs("vmail")).got).toBe(true);
  } finally {
    await onMachineOk(lab, "systemctl restart mailserver-metadata-guard.service");
  }
  expect((await tokenAs("vmail")).got).toBe(false);
});

test("after a reboot the guard is back before anyone asks: vmail refused, root answered", async () => {
  const INIT_START = "cut -d' ' -f22 /proc/1/stat";
  const before = (await onMachineOk(lab, INIT_START)).trim();
  await onMachine(lab, "systemctl reboot", 30_000);
  await waitFor("the lab machine to boot again and answer over SSH", async () => {
    const r = await onMachine(lab, INIT_START, 20_000);
    return r.code === 0 && r.stdout.trim() !== before ? true : undefined;
  }, { timeoutMs: 5 * 60_000, intervalMs: 3_000 });
  await onMachine(lab, "timeout 120 systemctl is-system-running --wait || true", 150_000);
  expect((await tokenAs("vmail")).got).toBe(false);
  expect((await tokenAs("root")).got).toBe(true);
}, 10 * 60_000);
