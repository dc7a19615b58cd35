// The DNS records plan: pure, from config + server IP + DKIM public keys to the list of records.
// (Implementation: issue 4.)

export type RecordType = "A" | "AAAA" | "CNAME" | "MX" | "TXT" | "SRV" | "CAA";

export interface RecordSpec {
  /** Cloudflare zone id the record goes in. */
  zoneId: string;
  /** The zone's apex domain (used for zone files and for naming resources). */
  zone: string;
  /** Fully qualified record name, without trailing dot, e.g. s1._domainkey.example.com. */
  name: string;
  type: RecordType;
  /** Content as Cloudflare stores it (TXT longer than 255 bytes already split into quoted chunks). */
  content: string;
  priority?: number;
  ttl: number;
}
