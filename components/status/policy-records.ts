// DMARC (RFC 7489 §6.3) and SMTP TLS reporting (RFC 8460 §3) records: parsed strictly enough that a record
// receivers would ignore is reported, with what is wrong.

/** "k=v; k=v" → entries in order; throws on a tag without "=". */
export function tagList(record: string): [string, string][] {
  return record.split(";").map((t) => t.trim()).filter((t) => t !== "").map((t) => {
    const eq = t.indexOf("=");
    if (eq <= 0) throw new Error(`"${t}" is not tag=value`);
    return [t.slice(0, eq).trim().toLowerCase(), t.slice(eq + 1).trim()];
  });
}

export interface Dmarc {
  p: "none" | "quarantine" | "reject";
  rua: string[];
}

const POLICIES = ["none", "quarantine", "reject"];

/** The policy of a DMARC record, or the reason receivers would not use it. */
export function parseDmarc(record: string): Dmarc | { problem: string } {
  let tags: [string, string][];
  try {
    tags = tagList(record);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  // RFC 7489 §6.4: v=DMARC1 first, then p= (receivers discard records that do not start so).
  if (tags[0]?.[0] !== "v" || tags[0][1] !== "DMARC1") return { problem: "does not start with v=DMARC1" };
  if (tags[1]?.[0] !== "p") return { problem: "p= does not follow v=DMARC1" };
  const p = tags[1][1].toLowerCase();
  if (!POLICIES.includes(p)) return { problem: `p=${tags[1][1]} is not none, quarantine or reject` };
  const get = (k: string) => tags.find(([tag]) => tag === k)?.[1];
  const sp = get("sp");
  if (sp !== undefined && !POLICIES.includes(sp.toLowerCase())) return { problem: `sp=${sp} is not none, quarantine or reject` };
  for (const k of ["adkim", "aspf"]) {
    const v = get(k);
    if (v !== undefined && !["r", "s"].includes(v.toLowerCase())) return { problem: `${k}=${v} is not r or s` };
  }
  const pct = get("pct");
  if (pct !== undefined && !(/^\d{1,3}$/.test(pct) && Number(pct) <= 100)) return { problem: `pct=${pct} is not 0-100` };
  const rua = reportUris(get("rua"), ["mailto"]);
  if ("problem" in rua) return { problem: `rua: ${rua.problem}` };
  return { p: p as Dmarc["p"], rua: rua.uris };
}

export interface TlsRpt {
  rua: string[];
}

/** An SMTP TLS reporting record, or the reason senders would not use it. */
export function parseTlsRpt(record: string): TlsRpt | { problem: string } {
  let tags: [string, string][];
  try {
    tags = tagList(record);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  if (tags[0]?.[0] !== "v" || tags[0][1] !== "TLSRPTv1") return { problem: "does not start with v=TLSRPTv1" };
  const ruaTag = tags.find(([tag]) => tag === "rua")?.[1];
  if (ruaTag === undefined) return { problem: "has no rua= (where reports go)" };
  const rua = reportUris(ruaTag, ["mailto", "https"]);
  if ("problem" in rua) return { problem: `rua: ${rua.problem}` };
  return { rua: rua.uris };
}

/** A comma-separated list of report URIs, each of an allowed scheme with a plausible address or URL. */
function reportUris(value: string | undefined, schemes: string[]): { uris: string[] } | { problem: string } {
  if (value === undefined) return { uris: [] };
  const uris = value.split(",").map((u) => u.trim());
  for (const uri of uris) {
    const scheme = /^([a-z]+):/i.exec(uri)?.[1].toLowerCase();
    if (scheme === undefined || !schemes.includes(scheme)) return { problem: `${uri} is not a ${schemes.join(" or ")} URI` };
    // DMARC allows a size limit after "!" (mailto:a@b!10m).
    if (scheme === "mailto" && !/^mailto:[^@\s!]+@[a-z0-9.-]+\.[a-z]{2,}(![0-9]+[kmgt]?)?$/i.test(uri)) return { problem: `${uri} is not a mailto: address` };
    if (scheme === "https" && !/^https:\/\/[^\s/]+\/?\S*$/i.test(uri)) return { problem: `${uri} is not an https URL` };
  }
  return { uris };
}
