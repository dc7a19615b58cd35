// The policy pack as the Pulumi engine runs it: its own process serving the analyzer gRPC protocol on
// loopback, asked to analyze resources over the wire (secrets, unknown-checking proxies and all).
import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeRequest, AnalyzeResponse, AnalyzerResourceOptions } from "@pulumi/pulumi/proto/analyzer_pb";

const ROOT = join(__dirname, "../..");
// The wire form of a Pulumi secret (see @pulumi/pulumi/runtime/rpc: specialSigKey, specialSecretSig).
const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

let pack: ChildProcess;
let client: AnalyzerClient;

beforeAll(async () => {
  pack = spawn(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "index.ts"],
    { cwd: join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  pack.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    pack.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    pack.once("exit", (code) => reject(new Error(`policy pack exited (${code}): ${stderr}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

interface Resource { type: string; name: string; props: Record<string, unknown>; stack?: string; protect?: boolean; secretOutputs?: string[] }

async function analyze(r: Resource): Promise<{ policy: string; message: string }[]> {
  const opts = new AnalyzerResourceOptions().setProtect(r.protect ?? false)
    .setAdditionalsecretoutputsList(r.secretOutputs ?? []);
  const req = new AnalyzeRequest().setType(r.type).setName(r.name)
    .setUrn(`urn:pulumi:${r.stack ?? "prod"}::mailserver::${r.type}::${r.name}`)
    .setProperties(Struct.fromJavaScript(r.props as Record<string, never>)).setOptions(opts);
  const res = await new Promise<AnalyzeResponse>((resolve, reject) =>
    client.analyze(req, (err, out) => (err ? reject(err) : resolve(out))));
  return res.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), message: d.getMessage() }));
}

const FIREWALL = "gcp:compute/firewall:Firewall";

test("the program's mail firewall passes; SSH from the world fails two policies", async () => {
  expect(await analyze({ type: FIREWALL, name: "mail-smtp-in",
    props: { allows: [{ protocol: "tcp", ports: ["25", "465", "587", "993", "995"] }], sourceRanges: ["0.0.0.0/0"] } }))
    .toEqual([]);
  const found = await analyze({ type: FIREWALL, name: "mail-ssh",
    props: { allows: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: ["0.0.0.0/0"] } });
  expect(found.map((d) => d.policy).sort()).toEqual(["no-ssh-from-world", "only-mail-ports-public"]);
});

test("the data disk: unprotected fails in prod, passes in a test- stack, protected passes", async () => {
  const disk = { type: "gcp:compute/disk:Disk", name: "mail-data", props: { size: 20 } };
  expect((await analyze({ ...disk, stack: "prod" })).map((d) => d.policy)).toEqual(["data-disk-protected"]);
  expect(await analyze({ ...disk, stack: "test-pr-7" })).toEqual([]);
  expect(await analyze({ ...disk, stack: "prod", protect: true })).toEqual([]);
});

test("DNS and the relay secret, with a secret value on the wire", async () => {
  const dns = { type: "cloudflare:index/dnsRecord:DnsRecord", name: "mx" };
  expect((await analyze({ ...dns, props: { type: "MX", name: "example.com", proxied: true } })).map((d) => d.policy))
    .toEqual(["mail-records-not-proxied"]);
  expect(await analyze({ ...dns, props: { type: "MX", name: "example.com", proxied: false } })).toEqual([]);
  const version = { type: "gcp:secretmanager/secretVersion:SecretVersion", name: "relay",
    props: { secret: "projects/p/secrets/relay", secretData: secret("hunter2") } };
  expect(await analyze({ ...version, secretOutputs: ["secretData", "secretDataWo"] })).toEqual([]);
  const plain = await analyze({ ...version, secretOutputs: [] });
  expect(plain.map((d) => d.policy)).toEqual(["relay-secret-is-secret"]);
  expect(plain[0].message).not.toContain("hunter2");
});
