// What users taught rspamd on Debian 12 still counts on 13: Debian 12's rspamd 3.4 (the host's) learns two spams and
// two hams with the files rendered for 12 into a redis, then Debian 13's rspamd 3.12 (chrooted in the trixie root of
// lab/release-root.ts, the files rendered for 13) classifies on what 3.4 left there. The move keeps redis's data
// (tests/e2e/001-debian-12-to-13.test.ts) and 3.12 moved Bayes into Redis scripts (its ChangeLog 3.8.0, "Use Redis
// scripts for Bayes statistics and cache"): the same keys, or the lessons are lost. Control: 3.12 on an empty redis
// finds no Bayes verdict. Both rspamd and the redis (Debian 13's: the host has none) run in namespaces of their own
// (mount, network, pid); nothing on the host changes. min_learns (200 on the VM) is 1 here, so that four lessons decide.
// Needs root, as the daemons tier does; about 2 minutes, most of it the two rspamd loading their configuration.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import { renderFiles } from "../../components/core/render";
import { run } from "../../lab/proc";
import { ensureReleaseRoot } from "../../lab/release-root";
import { writeTree } from "../../scripts/render";
import { fixtureDkimKeys, fixtureRaw } from "../fixtures/config";

const message = (id: string, subject: string, from: string, body: string) =>
  `From: ${from}\nTo: alice@example.com\nSubject: ${subject}\nMessage-ID: <${id}>\nDate: Mon, 07 Dec 2026 09:00:00 +0000\n` +
  `MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n${body}\n`;
const SPAM = "Congratulations dear winner, your email address was selected in our international lottery draw and you have " +
  "won one million dollars. To claim your guaranteed prize send your bank account number, your full name and a processing " +
  "fee of two hundred dollars by western union today. This exclusive offer expires tomorrow, act now and do not tell anyone " +
  "about your fortune until the transfer is complete. Reply at once with your passport copy and telephone number so our " +
  "claims agent can call you.";
const HAM = "Hi Alice, here are my notes from Thursday's planning meeting. We agreed to move the database migration to the " +
  "second week of January, after the holiday freeze. Carol will write the rollback plan and I will update the staging " +
  "environment so that we can rehearse the cutover twice. Please review the draft schedule in the shared folder and add the " +
  "dates of your vacation, so we do not plan the rehearsal while you are away. Thanks, and see you on Friday.";
// Two of each: a token counts once it was seen twice (min_token_hits), and the learn cache refuses the same message twice.
const MESSAGES: Record<string, string> = {
  spam: message("spam-1@prize-office.example", "Claim your guaranteed lottery prize today", "Winner Department <claims@prize-office.example>", SPAM),
  spam2: message("spam-2@prize-office.example", "Final notice: your lottery prize is waiting", "Winner Department <claims@prize-office.example>",
    `${SPAM}\nFinal notice: this is the last reminder before your prize is released to another winner.`),
  ham: message("ham-1@example.org", "Notes from the planning meeting", "Bob <bob@example.org>", HAM),
  ham2: message("ham-2@example.org", "Re: Notes from the planning meeting", "Bob <bob@example.org>",
    `${HAM}\nPS: the retrospective moved to the small meeting room on the second floor.`),
};

const SCRIPT = `set -eu
R=$1; W=$2
M="$W/merged"; mkdir -p "$W/up" "$W/wk" "$M" "$W/out"
ip link set lo up
mount -t overlay overlay -o "lowerdir=$R,upperdir=$W/up,workdir=$W/wk" "$M"
mount -t proc proc "$M/proc"
mount -t tmpfs -o mode=0755 tmpfs "$M/dev"
for d in null zero random urandom; do touch "$M/dev/$d"; mount --bind "/dev/$d" "$M/dev/$d"; done
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
cp "$W"/msg-*.eml "$M/tmp/"
chroot "$M" redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes --dir /tmp --logfile /tmp/redis.log
for _ in $(seq 100); do chroot "$M" redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
rcli() { chroot "$M" redis-cli "$@"; }
# Every key: name, type, content (a hash's fields as redis returns them).
dump() { rcli --scan | sort | while read -r k; do t=$(rcli type "$k"); case $t in hash) v=$(rcli hgetall "$k" | paste -sd' ');; set) v=$(rcli smembers "$k" | sort | paste -sd' ');; *) v=;; esac; printf '%s\\t%s\\t%s\\n' "$k" "$t" "$v"; done; }
# Nothing answers DNS here: short timeouts. Bayes decides from the first learn of each class.
tune() { printf 'dns {\\n  timeout = 0.2s;\\n  retransmits = 1;\\n}\\n' >> "$1/override.d/options.inc"; printf 'min_learns = 1;\\n' >> "$1/local.d/classifier-bayes.conf"; }
ready() { for _ in $(seq 3000); do $1 rspamc -h 127.0.0.1:11334 stat >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "rspamd did not start" >&2; return 1; }
# Debian 12's rspamd 3.4: the host's, with the files rendered for 12 over its local.d and override.d.
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /var/lib/rspamd; mount -t tmpfs tmpfs /var/log/rspamd
chown _rspamd:_rspamd /var/lib/rspamd /var/log/rspamd; install -d -o _rspamd -g _rspamd /run/rspamd
tune "$W/t12/etc/rspamd"
mount --bind "$W/t12/etc/rspamd/local.d" /etc/rspamd/local.d; mount --bind "$W/t12/etc/rspamd/override.d" /etc/rspamd/override.d
rspamd -c /etc/rspamd/rspamd.conf -u _rspamd -g _rspamd
ready ""
for m in spam spam2 ham ham2; do rspamc -h 127.0.0.1:11334 "learn_\${m%2}" "$W/msg-$m.eml" > "$W/out/learn12-$m" 2>&1; done
dump > "$W/out/dump12"
kill "$(cat /run/rspamd/rspamd.pid)"; for _ in $(seq 300); do [ -e /run/rspamd/rspamd.pid ] || break; sleep 0.1; done
# Debian 13's rspamd 3.12 on what 3.4 left in redis.
cp -r "$W/t13/etc/rspamd/local.d/." "$M/etc/rspamd/local.d/"; cp -r "$W/t13/etc/rspamd/override.d/." "$M/etc/rspamd/override.d/"
tune "$M/etc/rspamd"
install -d -o _rspamd -g _rspamd "$M/run/rspamd"
chroot "$M" rspamd -c /etc/rspamd/rspamd.conf -u _rspamd -g _rspamd
ready "chroot $M"
# The first scan loads rspamd's Bayes scripts into redis and classifies nothing while they load.
chroot "$M" rspamc -h 127.0.0.1:11334 symbols /tmp/msg-ham.eml >/dev/null 2>&1 || true
sleep 1
scan() { for m in spam ham; do chroot "$M" rspamc -h 127.0.0.1:11334 symbols "/tmp/msg-$m.eml" > "$W/out/$1-$m" 2>&1 || true; done; }
scan learned12
rcli flushall >/dev/null
scan empty
# The same lessons from 3.12 itself: the keys it writes.
for m in spam spam2 ham ham2; do chroot "$M" rspamc -h 127.0.0.1:11334 "learn_\${m%2}" "/tmp/msg-$m.eml" > "$W/out/learn13-$m" 2>&1; done
dump > "$W/out/dump13"
`;

let work: string;
const out = (name: string) => readFileSync(join(work, "out", name), "utf8");
/** The Bayes symbols of a scan and their probability in percent. */
const bayes = (scan: string) => Object.fromEntries([...scan.matchAll(/^Symbol: (BAYES_\w+) \([-\d.]+\)\[([\d.]+)%\]$/gm)].map((m) => [m[1], Number(m[2])]));
const keys = (dump: string) => dump.trim().split("\n").map((l) => l.split("\t"));

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("the daemons tier runs as root: the check needs mount, network and pid namespaces");
  const root = await ensureReleaseRoot(13);
  work = mkdtempSync(join(tmpdir(), "rspamd-bayes-"));
  chmodSync(work, 0o755);
  for (const [release, image] of [["12", "debian-cloud/debian-12"], ["13", "debian-cloud/debian-13"]]) {
    const files = await renderFiles({ config: parseConfig(fixtureRaw({ "mailserver:image": image })), dkimPrivateKeys: fixtureDkimKeys() });
    writeTree(files.filter((f) => f.path.startsWith("/etc/rspamd/")), join(work, `t${release}`));
  }
  for (const [name, text] of Object.entries(MESSAGES)) writeFileSync(join(work, `msg-${name}.eml`), text);
  writeFileSync(join(work, "run.sh"), SCRIPT);
  await run("unshare", ["--mount", "--net", "--pid", "--fork", "--propagation", "private", "sh", join(work, "run.sh"), root, work]);
}, 15 * 60 * 1000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test("rspamd 3.4 (Debian 12) learns the two spams and two hams", () => {
  for (const m of Object.keys(MESSAGES)) expect({ m, out: out(`learn12-${m}`) }).toEqual({ m, out: expect.stringContaining("success = true;") });
});

test("rspamd 3.12 (Debian 13) judges by what 3.4 learned: the spam is Bayes spam, the ham Bayes ham; on an empty redis neither (control)", () => {
  expect(bayes(out("learned12-spam"))).toEqual({ BAYES_SPAM: expect.any(Number) });
  expect(bayes(out("learned12-spam")).BAYES_SPAM).toBeGreaterThan(95);
  expect(bayes(out("learned12-ham"))).toEqual({ BAYES_HAM: expect.any(Number) });
  expect(bayes(out("learned12-ham")).BAYES_HAM).toBeGreaterThan(95);
  expect(bayes(out("empty-spam"))).toEqual({});
  expect(bayes(out("empty-ham"))).toEqual({});
});

test("both write one schema: the RS hash with the learn counts, the BAYES_*_keys sets, RS_<token> hashes of H and S counts", () => {
  const [twelve, thirteen] = [keys(out("dump12")), keys(out("dump13"))];
  const named = (rows: string[][]) => rows.filter(([k]) => !/^RS_\d+$/.test(k));
  const counts = (rows: string[][]) => Object.fromEntries((rows.find(([k]) => k === "RS")?.[2] ?? "").split(" ")
    .flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])));
  expect(named(twelve).map(([k, t]) => `${k} ${t}`)).toEqual(named(thirteen).map(([k, t]) => `${k} ${t}`));
  expect(counts(twelve)).toMatchObject({ learns_spam: "2", learns_ham: "2" });
  expect(counts(thirteen)).toMatchObject({ learns_spam: "2", learns_ham: "2" });
  for (const rows of [twelve, thirteen]) {
    const tokens = rows.filter(([k]) => /^RS_\d+$/.test(k));
    expect(tokens.length).toBeGreaterThan(50);
    for (const [k, t, v] of tokens) expect({ k, t, v }).toEqual({ k, t: "hash", v: expect.stringMatching(/^([HS] \d+ ?)+$/) });
  }
  // 3.12 makes fewer tokens of the same text than 3.4 did (measured: 137 against 482); most of them 3.4 wrote too.
  const learned = new Set(twelve.map(([k]) => k));
  const own = thirteen.filter(([k]) => /^RS_\d+$/.test(k)).map(([k]) => k);
  expect(own.filter((k) => learned.has(k)).length / own.length).toBeGreaterThan(0.8);
});
