// The Cloudflare stand-in: knotd, authoritative for the hosted zones (records registered by the program)
// and for lab.test (names of the stand-ins), on the host lab address, port 53.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLOUDFLARE_CAA_RECORDS } from "../components/status/record-compare";
import {
  ACME_NAME, CLIENT_NAME, CLIENT_ZONE, LAB_ZONE, METADATA_IP, METADATA_NAME, NET, OUTSIDE_DKIM_SELECTOR, OUTSIDE_DOMAINS,
  RELAY_NAME, SECRET_MANAGER_NAME, p,
} from "./paths";
import { daemonPid, run, startDaemon, stopDaemon, waitFor } from "./proc";
import { resolverDown, syncResolver } from "./resolver";
import { writeFileAtomic } from "./write-file";

export interface DnsRecordState {
  zone: string;
  /** Fully qualified, no trailing dot. */
  name: string;
  type: string;
  content: string;
  ttl: number;
  priority?: number;
}

const conf = () => path.join(p.dns, "knot.conf");
const zonesDir = () => path.join(p.dns, "zones");
const storeFile = () => path.join(p.state, "dns-records.json");
/** The zones Cloudflare would sign (a ZoneDnssec resource exists for them): knot signs them. */
const signedFile = () => path.join(p.state, "dns-signed.json");
/** The zones of the Cloudflare account: every zone a deploy hosted stays, as a stack does not own its zone. */
const accountFile = () => path.join(p.state, "dns-zones.json");
/** Zone → the DS records its registrar publishes: given once the zone is signed, never taken back by a deploy. */
const registrarFile = () => path.join(p.state, "dns-registrar-ds.json");

function readJson<T>(file: string, empty: T): T {
  try { return JSON.parse(fs.readFileSync(file, "utf8")) as T; } catch { return empty; }
}

export function signedZones(): string[] {
  try { return JSON.parse(fs.readFileSync(signedFile(), "utf8")) as string[]; } catch { return []; }
}
/** Turns knot's automatic signing of a zone on or off (the next publish applies it). */
export function setSigned(zone: string, on: boolean): void {
  fs.mkdirSync(p.state, { recursive: true });
  const zones = new Set(signedZones());
  if (on) zones.add(zone); else zones.delete(zone);
  fs.writeFileSync(signedFile(), JSON.stringify([...zones].sort()));
}

/**
 * The DS records of a signed zone's KSK, as the parent (the registrar) would publish them, from knot's own key
 * store: `keymgr <zone> ds` prints "<zone>. DS <tag> <alg> <digest type> <digest>" per digest type.
 */
export async function dsRecords(zone: string): Promise<string[]> {
  const r = await run("keymgr", ["-c", conf(), zone, "ds"], { allowFail: true });
  if (r.code !== 0) throw new Error(`keymgr -c ${conf()} ${zone} ds exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => / DS \d+ \d+ 2 [0-9A-Fa-f]+$/.test(l));
}

export function loadRecords(): DnsRecordState[] {
  try { return JSON.parse(fs.readFileSync(storeFile(), "utf8")) as DnsRecordState[]; } catch { return []; }
}
function saveRecords(records: DnsRecordState[]): void {
  fs.mkdirSync(p.state, { recursive: true });
  fs.writeFileSync(storeFile(), JSON.stringify(records, null, 2));
}

/** Cloudflare accepts "@", relative names and FQDNs; the zone file wants FQDNs. */
export function qualify(name: string, zone: string): string {
  const n = name.replace(/\.$/, "").toLowerCase();
  if (n === "@" || n === zone) return zone;
  return n.endsWith(`.${zone}`) ? n : `${n}.${zone}`;
}

function rdata(r: DnsRecordState): string {
  const content = r.content.trim();
  switch (r.type) {
    case "TXT": // Cloudflare's split form ("…" "…") is already zone-file syntax
      return content.startsWith("\"") ? content : `"${content.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    case "MX":
      return `${r.priority ?? 10} ${content.replace(/\.?$/, ".")}`;
    case "CNAME":
      return content.replace(/\.?$/, ".");
    case "SRV": { // "priority weight port target": Cloudflare serves the target as given, not under the zone
      const fields = content.split(/\s+/);
      const target = fields[fields.length - 1];
      return [...fields.slice(0, -1), target === "." ? "." : target.replace(/\.?$/, ".")].join(" ");
    }
    default:
      return content;
  }
}

function zoneFile(zone: string, records: DnsRecordState[], serial: number): string {
  const lines = [
    `$ORIGIN ${zone}.`,
    `$TTL 300`,
    `@ SOA ns.${LAB_ZONE}. hostmaster.${LAB_ZONE}. ${serial} 3600 600 86400 60`,
    `@ NS ns.${LAB_ZONE}.`,
  ];
  const inZone = records.filter((x) => x.zone === zone);
  for (const r of inZone) {
    lines.push(`${r.name}. ${r.ttl === 1 ? 300 : r.ttl} ${r.type} ${rdata(r)}`);
  }
  // Cloudflare with Universal SSL on serves its own CAA issuers beside any CAA record of a zone.
  const caa = inZone.filter((r) => r.type === "CAA");
  for (const name of new Set(caa.map((r) => r.name))) {
    const own = caa.filter((r) => r.name === name).map((r) => rdata(r));
    for (const c of CLOUDFLARE_CAA_RECORDS.map((x) => `${x.flags} ${x.tag} "${x.value}"`).filter((x) => !own.includes(x))) lines.push(`${name}. 300 CAA ${c}`);
  }
  return lines.join("\n") + "\n";
}

/** The lab /24's reverse zone (10.213.0.0/24 → 0.213.10.in-addr.arpa). */
function reverseZone(): string {
  return NET.host.split(".").slice(0, 3).reverse().join(".") + ".in-addr.arpa";
}

/** The genuine outside domain's DKIM public key (base64 DER), made with its private key on first use. */
function outsideDkimPublicKey(): string {
  if (!fs.existsSync(p.outsideDkimKey)) {
    fs.mkdirSync(path.dirname(p.outsideDkimKey), { recursive: true });
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    fs.writeFileSync(p.outsideDkimKey, privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
  }
  const pub = createPublicKey(createPrivateKey(fs.readFileSync(p.outsideDkimKey, "utf8")));
  return pub.export({ type: "spki", format: "der" }).toString("base64");
}

/** A TXT value in zone-file form, split into strings of at most 255 bytes. */
const txt = (value: string): string => (value.match(/.{1,255}/g) ?? []).map((c) => `"${c}"`).join(" ");

function labRecords(): DnsRecordState[] {
  const a = (zone: string, name: string, content = NET.host): DnsRecordState => ({ zone, name, type: "A", content, ttl: 60 });
  const t = (name: string, value: string): DnsRecordState => ({ zone: LAB_ZONE, name, type: "TXT", content: txt(value), ttl: 60 });
  const host = NET.host;
  const { genuine, strict, quarantined } = OUTSIDE_DOMAINS;
  return [
    ...["ns", RELAY_NAME, ACME_NAME, genuine, strict, quarantined].map((n) => a(LAB_ZONE, qualify(n, LAB_ZONE))),
    // The clients' EHLO name and the host address's PTR: forward-confirmed, as an outside MTA has.
    a(CLIENT_ZONE, CLIENT_NAME),
    { zone: reverseZone(), name: `${host.split(".")[3]}.${reverseZone()}`, type: "PTR", content: `${CLIENT_NAME}.`, ttl: 60 },
    t(RELAY_NAME, `v=spf1 ip4:${host} -all`),
    t(genuine, `v=spf1 ip4:${host} -all`),
    t(`${OUTSIDE_DKIM_SELECTOR}._domainkey.${genuine}`, `v=DKIM1; k=rsa; p=${outsideDkimPublicKey()}`),
    t(`_dmarc.${genuine}`, "v=DMARC1; p=reject"),
    t(strict, "v=spf1 -all"),
    t(`_dmarc.${strict}`, "v=DMARC1; p=reject"),
    t(quarantined, "v=spf1 -all"),
    t(`_dmarc.${quarantined}`, "v=DMARC1; p=quarantine"),
    // Google's names, each its own zone here: Secret Manager on the host, the metadata server at its GCE address.
    { zone: SECRET_MANAGER_NAME, name: SECRET_MANAGER_NAME, type: "A", content: NET.host, ttl: 60 },
    { zone: "google.internal", name: METADATA_NAME, type: "A", content: METADATA_IP, ttl: 60 },
  ];
}
const LAB_ZONES = [LAB_ZONE, SECRET_MANAGER_NAME, "google.internal"];

let serial = Math.floor(Date.now() / 1000);

/** Writes every zone and the knot config, then makes knotd load them (starting it if needed). */
export async function publish(zones: string[], records: DnsRecordState[]): Promise<void> {
  fs.mkdirSync(zonesDir(), { recursive: true });
  fs.mkdirSync(path.join(p.dns, "run"), { recursive: true });
  // knot's key store (KASP database) lives here; knot does not make the directory.
  fs.mkdirSync(path.join(p.dns, "db"), { recursive: true, mode: 0o700 });
  saveRecords(records);
  const account = [...new Set([...readJson<string[]>(accountFile(), []), ...zones, ...records.map((r) => r.zone)])].sort();
  fs.writeFileSync(accountFile(), JSON.stringify(account));
  const all = [...new Set([...LAB_ZONES, CLIENT_ZONE, reverseZone(), ...account])].sort();
  serial = Math.max(serial + 1, Math.floor(Date.now() / 1000));
  const signed = signedZones().filter((z) => all.includes(z));
  for (const z of all) {
    fs.writeFileSync(path.join(zonesDir(), `${z}.zone`), zoneFile(z, [...labRecords(), ...records], serial));
  }
  writeFileAtomic(conf(), [
    "server:",
    `    rundir: "${path.join(p.dns, "run")}"`,
    `    listen: ${NET.host}@53`,
    "database:",
    `    storage: "${path.join(p.dns, "db")}"`,
    "control:",
    `    listen: "${path.join(p.dns, "run", "knot.sock")}"`,
    "log:",
    "  - target: stderr",
    "    any: info",
    // Signing as Cloudflare does it: ECDSA P-256 (algorithm 13), one KSK whose DS the parent publishes.
    "policy:",
    "  - id: lab",
    "    algorithm: ecdsap256sha256",
    "    ksk-lifetime: 0",
    "    zsk-lifetime: 0",
    "template:",
    "  - id: default",
    `    storage: "${zonesDir()}"`,
    '    file: "%s.zone"',
    "    zonefile-sync: -1",
    "    zonefile-load: whole",
    "    journal-content: none",
    "zone:",
    ...all.flatMap((z) => [`  - domain: ${z}`, ...(signed.includes(z) ? ["    dnssec-signing: on", "    dnssec-policy: lab"] : [])]),
    "",
  ].join("\n"));
  if (daemonPid("knot") === undefined) {
    await run("knotc", ["-c", conf(), "conf-check"]);
    startDaemon("knot", "knotd", ["-c", conf()]);
    await waitFor("knotd", async () => (await run("knotc", ["-c", conf(), "status"], { allowFail: true })).code === 0, 15000);
  } else {
    await run("knotc", ["-c", conf(), "reload"]);
  }
  // The resolver trusts the DS records the registrars publish (the lab has no parent zones): a zone's, once it
  // was signed, stays there, so a zone that goes unsigned afterwards fails validation as it would on the Internet.
  // It waits until knot has signed each signed zone.
  const registrar = readJson<Record<string, string[]>>(registrarFile(), {});
  for (const z of signed) {
    await waitFor(`knot signing ${z}`, async () => (await dsRecords(z).catch(() => [])).length > 0 &&
      (await run("kdig", [`@${NET.host}`, "+short", "DNSKEY", z], { allowFail: true })).stdout.trim() !== "", 15000);
    registrar[z] ??= await dsRecords(z);
  }
  fs.writeFileSync(registrarFile(), JSON.stringify(registrar, null, 1));
  await syncResolver(all, Object.values(registrar).flat());
}

/** Upserts records as the deploy registers them: DNS is usable while the deploy still runs. */
export class ZoneWriter {
  private records: DnsRecordState[];
  private queue: Promise<void> = Promise.resolve();
  constructor(private readonly zones: string[]) {
    this.records = loadRecords();
  }
  add(r: DnsRecordState): Promise<void> {
    this.records = this.records.filter((x) => !(x.name === r.name && x.type === r.type && x.content === r.content));
    this.records.push(r);
    return this.enqueue();
  }
  /** Publishes again with the same records (e.g. a zone's signing changed). */
  sync(): Promise<void> {
    return this.enqueue();
  }
  /** After a full deploy: exactly the records this deploy registered (removed ones disappear). */
  finish(registered: DnsRecordState[]): Promise<void> {
    this.records = registered;
    return this.enqueue();
  }
  private enqueue(): Promise<void> {
    const snapshot = [...this.records];
    this.queue = this.queue.then(() => publish(this.zones, snapshot));
    return this.queue;
  }
}

export async function dnsUp(): Promise<void> {
  await publish([], loadRecords());
}
export async function dnsDown(): Promise<void> {
  await resolverDown();
  await stopDaemon("knot");
}
