// The DNSSEC/DANE keys of the stack config: defaults and one test per rule.
import { parseConfig } from "../../components/core/config";
import { MINIMAL_RAW, problems } from "../fixtures/config";

test("defaults: DNSSEC off, TLS key k1, no next key", () => {
  const c = parseConfig(MINIMAL_RAW);
  expect([c.dnssec, c.tlsKey, c.tlsNextKey]).toEqual([false, "k1", undefined]);
  const on = parseConfig({ ...MINIMAL_RAW, "mailserver:dnssec": "true", "mailserver:tlsKey": "k2", "mailserver:tlsNextKey": "k3" });
  expect([on.dnssec, on.tlsKey, on.tlsNextKey]).toEqual([true, "k2", "k3"]);
});

test.each([
  ["dnssec not a boolean", { "mailserver:dnssec": "yes" }, "mailserver:dnssec: must be true or false"],
  ["tlsKey not a DNS label", { "mailserver:tlsKey": "key 1" }, "mailserver:tlsKey: must be one DNS label (letters, digits, dashes), e.g. k2"],
  ["tlsNextKey not a DNS label", { "mailserver:tlsNextKey": "K_2" }, "mailserver:tlsNextKey: must be one DNS label (letters, digits, dashes), e.g. k2"],
  ["tlsNextKey is the serving key", { "mailserver:tlsNextKey": "k1" },
    "mailserver:tlsNextKey: k1 is the current mailserver:tlsKey — name the next key differently, e.g. k2, or remove tlsNextKey"],
])("refused: %s", (_name, over, message) => {
  expect(problems(over)).toEqual(expect.arrayContaining([message]));
});
