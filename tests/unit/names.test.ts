// Project-global GCP names: every stack gets its own, and each fits its API's rules at the length limits.
import { GCP_NAME_RULES, globalNames, namesWithKinds, stackName } from "../../components/core/names";

// Pulumi stack names: letters, digits, -, _ and ., up to 100 characters (pulumi/pulumi
// sdk/go/common/tokens/names.go, ValidateStackName).
const STACKS = [
  "a", "dev", "prod", "test-pr-42", "Prod.eu_1", "x".repeat(24), "x".repeat(25), "x".repeat(50), "x".repeat(51),
  "x".repeat(52), "x".repeat(53), "x".repeat(58), "y".repeat(100), "test-" + "a".repeat(60), "-_.-", "UPPER", "a.b",
];

test.each(STACKS)("every name of stack %j fits its rule", (stack) => {
  for (const { name, kind } of namesWithKinds(globalNames("mail", stack))) {
    expect(name.length).toBeLessThanOrEqual(GCP_NAME_RULES[kind].maxLength);
    expect(name).toMatch(GCP_NAME_RULES[kind].pattern);
  }
});

test("the names carry the stack", () => {
  expect(globalNames("mail", "dev")).toEqual({
    network: "mail-dev", subnet: "mail-dev", tag: "mail-dev",
    firewall: { mail: "mail-mail-dev", ssh: "mail-ssh-dev", sshV6: "mail-ssh-v6-dev", acmeHttp: "mail-acme-http-dev", iapSsh: "mail-iap-ssh-dev" },
    snapshotPolicy: "mail-snapshots-dev", serviceAccount: "mail-dev", relaySecret: "mail-relay-password-dev",
  });
});

test("no two stacks share a name, also where names had to be cut or changed", () => {
  const all = STACKS.flatMap((s) => namesWithKinds(globalNames("mail", s)).map((n) => `${n.kind}:${n.name}`));
  // network, subnet and tag are one name by design (three kinds of resource, each in its own namespace).
  const perStack = new Set(STACKS.map((s) => globalNames("mail", s).network));
  expect(perStack.size).toBe(STACKS.length);
  expect(new Set(all).size).toBe(all.length - 2 * STACKS.length);
});

test("exactly at the limits: the longest stack name that fits is kept, one more is cut and hashed", () => {
  // service account: 30 = "mail-" (5) + 25
  expect(stackName("mail", "x".repeat(25), 30)).toBe(`mail-${"x".repeat(25)}`);
  const cut = stackName("mail", "x".repeat(26), 30);
  expect(cut).toHaveLength(30);
  expect(cut).toMatch(/^mail-x{18}-[0-9a-f]{6}$/);
  // compute: 63 = "mail-snapshots-" (15) + 48
  expect(stackName("mail-snapshots", "x".repeat(48))).toHaveLength(63);
  expect(stackName("mail-snapshots", "x".repeat(49))).toMatch(/^mail-snapshots-x{41}-[0-9a-f]{6}$/);
  // the shortest service account id (6): a one-letter stack
  expect(globalNames("mail", "a").serviceAccount).toBe("mail-a");
  // a stack name with nothing usable still gets a valid, distinct name
  expect(stackName("mail", "___")).toMatch(/^mail-[0-9a-f]{6}$/);
  expect(stackName("mail", "___")).not.toBe(stackName("mail", "..."));
  expect(stackName("mail", "Dev")).not.toBe(stackName("mail", "dev"));
});
