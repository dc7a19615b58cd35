// Stacks that live side by side in one GCP project and one Cloudflare account: which DNS names each may claim.
// Pure: the shell (components/config.ts) hands in the stack name and the other stacks' names.
//
// Design: a test stack `test-<name>` owns the namespace `<name>.test.<domain>` in dev's zone (same zone id):
// its mail domain is `<name>.test.<dev domain>` and its hostname `mail.<name>.test.<dev domain>`
// (scripts/test-stack.ts writes exactly that). The program checks it two ways:
//  - by shape: every domain a test stack hosts starts with `<name>.test.`. No test stack can then use dev's or
//    prod's domain, and two test stacks can never overlap, without knowing any other stack;
//  - against the stack files in the repository (Pulumi.<stack>.yaml, committed for dev and prod): no name of
//    another stack may equal one of the test stack's names or lie inside its namespace. This catches a dev
//    whose own domain happens to have the test shape.
// A list in a config key (mailserver:reservedDomains) would have to be kept in step with the stack files by
// hand, and a test stack copies it from dev anyway; the committed files are already the truth.
import type { MailStackConfig } from "./config";

export const TEST_STACK_PREFIX = "test-";
export const LETS_ENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
export const LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

/** The bare stack name: Pulumi Cloud may qualify it as `org/project/stack`. */
export const bareStack = (stack: string): string => stack.slice(stack.lastIndexOf("/") + 1);

export function isTestStack(stack: string): boolean {
  return bareStack(stack).startsWith(TEST_STACK_PREFIX);
}

/** `test-pr-42` → `pr-42`. */
export function testName(stack: string): string {
  return bareStack(stack).slice(TEST_STACK_PREFIX.length);
}

/** The mail domain a test stack uses in place of `domain` (dev's, or one of dev's extra domains). */
export function testNamespace(name: string, domain: string): string {
  return `${name}.test.${domain}`;
}

/** The DNS names a stack claims: each hosted domain and the hostname. */
export function claimedNames(c: Pick<MailStackConfig, "domains" | "hostname">): string[] {
  return [...new Set([...c.domains.map((d) => d.name), c.hostname])];
}

export interface OtherStack {
  stack: string;
  /** claimedNames of that stack, as far as its file tells them. */
  names: string[];
}

const inside = (name: string, parent: string) => name === parent || name.endsWith(`.${parent}`);

/** Why this stack may not be deployed beside the others, each as "key: what — fix"; [] when it may. */
export function environmentProblems(c: MailStackConfig, stack: string, others: OtherStack[]): string[] {
  if (!isTestStack(stack)) return [];
  const name = testName(stack);
  const problems: string[] = [];
  const prefix = `${name}.test.`;
  c.domains.forEach((d, i) => {
    const key = i === 0 ? "mailserver:domain" : `mailserver:extraDomains[${i - 1}].name`;
    if (!d.name.startsWith(prefix)) {
      problems.push(`${key}: ${d.name} is outside test stack ${bareStack(stack)}'s own namespace — a test stack hosts only ` +
        `${prefix}<domain>, e.g. ${testNamespace(name, d.name)} in the same zone (npm run test-stack -- up ${name} sets this for you)`);
    }
  });
  const mine = claimedNames(c);
  for (const other of others) {
    if (bareStack(other.stack) === bareStack(stack)) continue;
    for (const theirs of other.names) {
      const hit = mine.find((m) => inside(theirs, m));
      if (hit !== undefined) {
        problems.push(`mailserver:domain: ${theirs} belongs to stack ${other.stack} (Pulumi.${other.stack}.yaml) and ${hit === theirs ? "is" : "lies inside"} ` +
          `${hit}, which test stack ${bareStack(stack)} would claim — its records and certificate would clash; use ${testNamespace(name, theirs)}`);
      }
    }
  }
  // The zone is dev's (or prod's): its DNSSEC belongs to the stack that owns the zone. A test stack that made a
  // ZoneDnssec would turn signing off for the whole zone when it is destroyed (components/dane.ts).
  if (c.dnssec) {
    problems.push(`mailserver:dnssec: test stack ${bareStack(stack)} would manage DNSSEC of a zone it shares with the stack that owns it, ` +
      "which a test stack never does — set mailserver:dnssec false (npm run test-stack -- up sets this for you)");
  }
  // Let's Encrypt allows 5 certificates a week for one set of names and 50 per registered domain, which prod
  // shares: test stacks use the staging directory (untrusted certificates, far higher limits) or self-signed.
  if (c.tls === "acme" && c.acmeServer === LETS_ENCRYPT_PRODUCTION) {
    problems.push(`mailserver:acmeServer: test stack ${bareStack(stack)} would take certificates from Let's Encrypt production, ` +
      `whose rate limits prod shares — set mailserver:acmeServer ${LETS_ENCRYPT_STAGING} or mailserver:tls self-signed`);
  }
  return problems;
}
