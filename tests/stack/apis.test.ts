// The Google Cloud APIs a project needs: the docs' `gcloud services enable` line (docs/environments.md,
// Prerequisites) lists exactly the APIs the program, its scripts and CI call. The program does not enable them
// itself (gcp.projects.Service): that would need roles/serviceusage.serviceUsageAdmin for every deploying
// identity, test stacks included, which may then switch on any API in the project; the Service Usage and
// Resource Manager APIs must be on before the provider can enable anything anyway; and an API is the project's,
// shared by dev and its test stacks, not one stack's to own.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { runProgram } from "./harness";
import { stackConfig } from "./config";

const ROOT = join(__dirname, "../..");

/** Which API serves each Pulumi type or invoke the program uses, by token prefix. */
const API_OF: [prefix: string, api: string][] = [
  // compute.* resources and getInstanceGuestAttributes (the host key).
  ["gcp:compute/", "compute.googleapis.com"],
  // serviceAccounts.create is the IAM API.
  ["gcp:serviceaccount/", "iam.googleapis.com"],
  // projects.getIamPolicy/setIamPolicy, which a project IAMMember reads and writes, are Resource Manager's.
  ["gcp:projects/iAMMember", "cloudresourcemanager.googleapis.com"],
  ["gcp:secretmanager/", "secretmanager.googleapis.com"],
  // Uptime check, notification channel, alert policy (mailserver:alertEmail).
  ["gcp:monitoring/", "monitoring.googleapis.com"],
];
/** Called from outside the program: CI and the deploy's SSH path. */
const OUTSIDE_THE_PROGRAM = [
  // google-github-actions/auth exchanges the OIDC token and impersonates GCP_SERVICE_ACCOUNT with
  // generateAccessToken: its README's set-up enables iamcredentials.googleapis.com.
  "iamcredentials.googleapis.com",
  // gcloud compute start-iap-tunnel (npm run iap-tunnel, mailserver:sshViaIap).
  "iap.googleapis.com",
];

function documentedApis(): string[] {
  const doc = readFileSync(join(ROOT, "docs/environments.md"), "utf8");
  const block = /```sh\n(gcloud services enable[^`]*)```/.exec(doc);
  if (!block) throw new Error("docs/environments.md has no ```sh block starting with gcloud services enable");
  return [...block[1].matchAll(/\b([a-z]+\.googleapis\.com)\b/g)].map((m) => m[1]).sort();
}

test("the docs enable exactly the APIs that every resource type and invoke of the program, CI and the IAP tunnel use", async () => {
  // Every optional part on: DNSSEC, alerting, ACME, IAP.
  const r = await runProgram(stackConfig({ "mailserver:dnssec": "true", "mailserver:alertEmail": "oncall@elsewhere.net",
    "mailserver:tls": "acme", "mailserver:acmeEmail": "hostmaster@example.com", "mailserver:sshViaIap": "true" }));
  expect(r.error).toBeUndefined();
  const tokens = [...new Set([...r.resources.map((x) => x.type), ...r.calls.map((c) => c.token)])].filter((t) => t.startsWith("gcp:"));
  expect(tokens).toContain("gcp:monitoring/alertPolicy:AlertPolicy");
  const unmapped = tokens.filter((t) => !API_OF.some(([prefix]) => t.startsWith(prefix)));
  expect(unmapped).toEqual([]); // a new type: add its API to API_OF and to the docs
  const used = new Set(tokens.map((t) => API_OF.find(([prefix]) => t.startsWith(prefix))![1]));
  expect(documentedApis()).toEqual([...used, ...OUTSIDE_THE_PROGRAM].sort());
});

test("what OUTSIDE_THE_PROGRAM stands for is really used: keyless auth with impersonation in CI, the IAP tunnel script", () => {
  const deploy = parse(readFileSync(join(ROOT, ".github/workflows/deploy.yml"), "utf8")) as { jobs: Record<string, { steps?: { uses?: string; with?: Record<string, string>; run?: string }[] }> };
  const steps = Object.values(deploy.jobs).flatMap((j) => j.steps ?? []);
  expect(steps.some((s) => s.uses?.startsWith("google-github-actions/auth@") && s.with?.service_account !== undefined)).toBe(true);
  expect(steps.some((s) => s.run?.includes("npm run iap-tunnel"))).toBe(true);
  expect(readFileSync(join(ROOT, "scripts/iap-tunnel.ts"), "utf8")).toContain("start-iap-tunnel");
});
