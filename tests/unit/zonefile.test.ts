import { RecordSpec } from "../../components/core/records";
import { zoneFiles } from "../../components/core/zonefile";

const r = (zone: string, name: string, type: RecordSpec["type"], content: string, priority?: number, ttl = 300): RecordSpec =>
  ({ zoneId: `id-${zone}`, zone, name, type, content, ...(priority === undefined ? {} : { priority }), ttl });

const records: RecordSpec[] = [
  r("example.com", "mail.example.com", "A", "198.51.100.7"),
  r("example.com", "example.com", "MX", "mail.example.com", 10),
  r("example.org", "example.org", "TXT", '"v=spf1 -all"', undefined, 1),
  r("example.com", "_imaps._tcp.example.com", "SRV", "1 993 mail.example.com", 0),
  r("example.com", "_imap._tcp.example.com", "SRV", "0 0 .", 0),
  r("example.com", "www.example.com", "CNAME", "example.net"),
];

test("one zone file per zone, in order of first appearance, with SOA, NS and master-file RDATA", () => {
  const files = zoneFiles(records);
  expect(files.map((f) => f.zone)).toEqual(["example.com", "example.org"]);
  expect(files[0].bind).toBe([
    "; example.com: records planned by the mailserver stack (SOA and NS for local use only)",
    "$ORIGIN example.com.",
    "$TTL 300",
    "@ 300 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300",
    "@ 300 IN NS ns1.example.com.",
    "ns1.example.com. 300 IN A 127.0.0.1",
    "mail.example.com. 300 IN A 198.51.100.7",
    "example.com. 300 IN MX 10 mail.example.com.",
    "_imaps._tcp.example.com. 300 IN SRV 0 1 993 mail.example.com.",
    "_imap._tcp.example.com. 300 IN SRV 0 0 0 .",
    "www.example.com. 300 IN CNAME example.net.",
    "",
  ].join("\n"));
  // Cloudflare's automatic TTL (1) is written as 300.
  expect(files[1].bind).toContain('example.org. 300 IN TXT "v=spf1 -all"\n');
});

test("JSON holds the zone's records as planned", () => {
  const [com, org] = zoneFiles(records);
  expect(JSON.parse(com.json)).toEqual(records.filter((x) => x.zone === "example.com"));
  expect(JSON.parse(org.json)).toEqual([records[2]]);
  expect(zoneFiles(records)).toEqual(zoneFiles(records));
});
