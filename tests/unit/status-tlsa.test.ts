// The pure DANE parts of npm run status: TLSA questions and answers as DNS messages (answers made here with
// dns-packet as a server would send them), and the verdicts on served, presented, planned and validated.
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as packet from "dns-packet";
import { parseServer, queryTlsa } from "../../components/status/tlsa-query";
import {
  assessTlsa, assessTlsaValidation, daneSkipped, readTlsaAnswer, servedTlsa, TlsaAnswer, tlsaQuestion,
} from "../../components/status/tlsa";

const NAME = "_25._tcp.mail.example.com";
const KEY = "a".repeat(64);
const NEXT = "b".repeat(64);
const OTHER = "c".repeat(64);

/** A response to question `id` with these flags, these TLSA records at `owner`, and an RRSIG that must be ignored. */
function response(flags: number, hexes: string[], owner = NAME, id = 7): Buffer {
  return packet.encode({
    type: "response", id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | flags,
    questions: [{ type: "TLSA", name: NAME }],
    answers: [
      ...hexes.map((h) => ({ type: "TLSA" as const, name: owner, ttl: 300, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from(h, "hex") } })),
      { type: "RRSIG", name: owner, ttl: 300, data: { typeCovered: "TLSA", algorithm: 13, labels: 4, originalTTL: 300, expiration: 2, inception: 1, keyTag: 1, signersName: "example.com", signature: Buffer.alloc(64) } },
    ],
  });
}

describe("TLSA messages", () => {
  test("the question: TLSA at the name, RD and AD set, EDNS0 with DO and a 1232-byte buffer", () => {
    const q = packet.decode(packet.encode(tlsaQuestion(NAME, 42)));
    expect(q).toMatchObject({ id: 42, flag_rd: true, flag_ad: true, questions: [{ type: "TLSA", name: NAME, class: "IN" }] });
    expect(q.additionals).toEqual([expect.objectContaining({ type: "OPT", udpPayloadSize: 1232, flag_do: true })]);
  });

  test("an answer: the TLSA records as usage selector type hex, RRSIGs left out, AD and TC read", () => {
    expect(readTlsaAnswer(response(packet.AUTHENTIC_DATA, [KEY, NEXT]), NAME, 7)).toEqual(
      { rcode: 0, ad: true, truncated: false, records: [`3 1 1 ${KEY}`, `3 1 1 ${NEXT}`] });
    expect(readTlsaAnswer(response(packet.TRUNCATED_RESPONSE, []), NAME, 7)).toEqual({ rcode: 0, ad: false, truncated: true, records: [] });
    // The owner compares without case and without the root dot; records at another name are not ours.
    expect(readTlsaAnswer(response(0, [KEY], `${NAME.toUpperCase()}.`), NAME, 7).records).toEqual([`3 1 1 ${KEY}`]);
    expect(readTlsaAnswer(response(0, [KEY], `_465._tcp.mail.example.com`), NAME, 7).records).toEqual([]);
  });

  test("an answer to another question (id) or a question itself is refused", () => {
    expect(() => readTlsaAnswer(response(0, [KEY], NAME, 8), NAME, 7)).toThrow("not the answer to question 7");
    expect(() => readTlsaAnswer(packet.encode(tlsaQuestion(NAME, 7)), NAME, 7)).toThrow("not the answer to question 7");
  });

  test("response codes: NXDOMAIN and an empty NOERROR are missing records, SERVFAIL a failure", () => {
    const nx = packet.encode({ type: "response", id: 7, flags: 3, questions: [{ type: "TLSA", name: NAME }] });
    expect(servedTlsa(readTlsaAnswer(nx, NAME, 7))).toEqual({ missing: "no such name" });
    expect(servedTlsa({ rcode: 0, ad: false, truncated: false, records: [] })).toEqual({ missing: "no TLSA record" });
    expect(servedTlsa({ rcode: 2, ad: false, truncated: false, records: [] })).toEqual({ failed: "SERVFAIL" });
    expect(servedTlsa({ rcode: 0, ad: false, truncated: false, records: [`3 1 1 ${KEY}`] })).toEqual({ values: [`3 1 1 ${KEY}`] });
  });

  test("servers as Node's resolvers list them", () => {
    expect(parseServer("192.0.2.1")).toEqual({ host: "192.0.2.1", port: 53 });
    expect(parseServer("127.219.0.53:5353")).toEqual({ host: "127.219.0.53", port: 5353 });
    expect(parseServer("2001:db8::1")).toEqual({ host: "2001:db8::1", port: 53 });
    expect(parseServer("[2001:db8::1]:5353")).toEqual({ host: "2001:db8::1", port: 5353 });
  });
});

test("queryTlsa: a truncated UDP answer is asked again over TCP (a loopback server that truncates)", async () => {
  const reply = (q: Buffer, flags: number, hexes: string[]) => response(flags, hexes, NAME, packet.decode(q).id);
  const udp = dgram.createSocket("udp4");
  udp.on("message", (q, from) => udp.send(reply(q, packet.TRUNCATED_RESPONSE, []), from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  const port = udp.address().port;
  const tcp = net.createServer((c) => c.once("data", (d) => {
    const answer = reply(d.subarray(2), packet.AUTHENTIC_DATA, [KEY]);
    c.end(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
  }));
  await new Promise<void>((r) => tcp.listen(port, "127.0.0.1", r));
  try {
    expect(await queryTlsa([`127.0.0.1:${port}`], NAME, 2_000)).toEqual({ rcode: 0, ad: true, truncated: false, records: [`3 1 1 ${KEY}`] });
  } finally {
    udp.close();
    tcp.close();
  }
});

test("queryTlsa: no answer from any server is an error naming each", async () => {
  await expect(queryTlsa(["127.0.0.1:9"], NAME, 300)).rejects.toThrow(/^127\.0\.0\.1:9: /);
});

describe("assessTlsa", () => {
  const seen = (over: Partial<Parameters<typeof assessTlsa>[0]>) => assessTlsa({
    name: NAME, served: { values: [`3 1 1 ${KEY}`] }, presented: { spki: KEY }, planned: [`3 1 1 ${KEY}`], ...over,
  });

  test("ok: the record names the presented key and is what the stack planned; a rollover's next key beside it", () => {
    expect(seen({})).toEqual({ id: `dane:${NAME}`, status: "ok", message: `port 25 presents the key that 3 1 1 ${KEY} names, served as planned` });
    const both = [`3 1 1 ${KEY}`, `3 1 1 ${NEXT}`];
    expect(seen({ served: { values: [...both].reverse() }, planned: both })).toMatchObject({ status: "ok", message: expect.stringContaining("the next key's record (rollover)") });
    // Served hex in upper case (some servers) is the same record.
    expect(seen({ served: { values: [`3 1 1 ${KEY.toUpperCase()}`] } }).status).toBe("ok");
  });

  test("ok but said so when the planned records are not known (a stack deployed before the output existed)", () => {
    expect(seen({ planned: { unknown: "no output" } })).toMatchObject({ status: "ok", message: expect.stringContaining("planned records not compared: no output") });
  });

  test("error: no record served names the key port 25 presents, with both keys and the fix", () => {
    const r = seen({ served: { values: [`3 1 1 ${OTHER}`] }, planned: [`3 1 1 ${OTHER}`] });
    expect(r.status).toBe("error");
    expect(r.message).toBe(`port 25 presents a key (SPKI SHA-256 ${KEY}) that no TLSA record at ${NAME} names (served: 3 1 1 ${OTHER}): DANE senders refuse to deliver — ` +
      "run pulumi up; if the key changed on the server, put the stack's key back (mailserver-tls install, see docs/dns.md \"DNSSEC and DANE\")");
  });

  test("error: served records differ from the plan (one missing, one unexpected) although the key matches", () => {
    expect(seen({ served: { values: [`3 1 1 ${KEY}`, `3 1 1 ${OTHER}`] } }).message).toBe(
      `served TLSA records differ from the stack's: unexpected 3 1 1 ${OTHER} — someone changed them outside Pulumi: run pulumi up to put them back`);
    expect(seen({ planned: [`3 1 1 ${KEY}`, `3 1 1 ${NEXT}`] })).toMatchObject({ status: "error", message: expect.stringContaining(`missing 3 1 1 ${NEXT}`) });
  });

  test("error: nothing served, no answer, or no key seen on port 25", () => {
    expect(seen({ served: { missing: "no such name" } })).toMatchObject({ status: "error", message: expect.stringMatching(/^no TLSA record is served at .* \(no such name\) while mailserver:dnssec is on — run pulumi up/) });
    expect(seen({ served: { failed: "REFUSED" } })).toMatchObject({ status: "error", message: expect.stringContaining("did not answer the TLSA question (REFUSED)") });
    expect(seen({ presented: { failed: "connection refused" } })).toMatchObject({ status: "error", message: expect.stringContaining("could not read the key port 25 presents (connection refused)") });
  });
});

describe("assessTlsaValidation", () => {
  const answer = (over: Partial<TlsaAnswer>): TlsaAnswer => ({ rcode: 0, ad: true, truncated: false, records: [`3 1 1 ${KEY}`], ...over });

  test("ok only with AD from the resolver", () => {
    expect(assessTlsaValidation(NAME, "127.0.0.53", answer({}))).toEqual({ id: `dnssec:${NAME}`, status: "ok", message: `${NAME} is DNSSEC-validated (AD) by 127.0.0.53` });
    expect(assessTlsaValidation(NAME, "127.0.0.53", answer({ ad: false }))).toMatchObject({ status: "warning", message: expect.stringContaining("without AD (not validated)") });
  });

  test("SERVFAIL is bogus DNSSEC: an error; no answer or no record is a warning that nothing was validated", () => {
    expect(assessTlsaValidation(NAME, "r", answer({ rcode: 2, ad: false, records: [] }))).toMatchObject({ status: "error", message: expect.stringContaining("DNSSEC is probably bogus") });
    expect(assessTlsaValidation(NAME, "r", answer({ rcode: 3, ad: true, records: [] }))).toMatchObject({ status: "warning", message: expect.stringContaining("answers NXDOMAIN with 0 TLSA record(s)") });
    expect(assessTlsaValidation(NAME, "r", { failed: "timeout" })).toMatchObject({ status: "warning", message: expect.stringContaining("did not answer (timeout)") });
  });
});

test("dnssec off: both checks skipped, with the reason", () => {
  expect(daneSkipped(NAME)).toEqual([`dane:${NAME}`, `dnssec:${NAME}`].map((id) => ({ id, status: "skip", message: expect.stringMatching(/^mailserver:dnssec is off/) })));
});
