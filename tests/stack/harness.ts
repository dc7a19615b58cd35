// Runs the real program under Pulumi's mock runtime and records every resource it registers.
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
  type: string;
  name: string;
  /** Inputs as the engine receives them: secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  dependsOn: string[];
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretValue(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
/** The value inside a secret wrapper, or the value itself. */
export function unwrap(v: unknown): unknown {
  return isSecretValue(v) ? (v as { value: unknown }).value : v;
}

/** Every string in a value, with whether it sat inside a secret. */
export function strings(v: unknown, secret = false): { text: string; secret: boolean }[] {
  if (isSecretValue(v)) return strings((v as { value: unknown }).value, true);
  if (typeof v === "string") return [{ text: v, secret }];
  if (Array.isArray(v)) return v.flatMap((x) => strings(x, secret));
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap((x) => strings(x, secret));
  return [];
}

/** Outputs the provider would compute, so that the program's applies have values to work with. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "gcp:compute/address:Address":
      return { ...inputs, address: "198.51.100.7" };
    case "gcp:serviceaccount/account:Account":
      return { ...inputs, email: `${String(inputs.accountId)}@proj.iam.gserviceaccount.com` };
    case "gcp:secretmanager/secret:Secret":
      return { ...inputs, name: `projects/proj/secrets/${String(inputs.secretId)}` };
    case "tls:index/privateKey:PrivateKey":
      return { ...inputs, ...testKey(name, String(inputs.algorithm)) };
    case "command:remote:Command":
    case "command:local:Command":
      return { ...inputs, stdout: `ran ${name}`, stderr: "" };
    default:
      return { ...inputs, name: inputs.name ?? name };
  }
}

import { generateKeyPairSync } from "node:crypto";
/** One key per resource name, kept across runs: as in Pulumi state, a resource keeps its key, a new one gets its own. */
const keys = new Map<string, Record<string, string>>();
function testKey(name: string, algorithm: string): Record<string, string> {
  if (!keys.has(name)) {
    const pair = algorithm === "RSA"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ed25519");
    const privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const publicKeyPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    keys.set(name, {
      privateKeyPem,
      privateKeyOpenssh: privateKeyPem,
      publicKeyPem,
      publicKeyOpenssh: algorithm === "RSA" ? "ssh-rsa AAAAtest" : "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAtest",
    });
  }
  return keys.get(name)!;
}

/** The private key PEM the mocks gave the tls.PrivateKey of that name. */
export function mockPrivateKeyPem(name: string): string {
  const key = keys.get(name);
  if (!key) throw new Error(`no mock key was made for ${name}`);
  return key.privateKeyPem;
}

export interface RunResult {
  resources: Recorded[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  error?: Error;
}

/** Runs index.ts with the given raw config (`namespace:key` → string) and waits until every resource is registered. */
export async function runProgram(config: Record<string, string>): Promise<RunResult> {
  const resources: Recorded[] = [];
  const options = new Map<string, { protect: boolean; retainOnDelete: boolean; dependsOn: string[] }>();
  pulumi.runtime.setMocks({
    newResource: (args) => {
      const opts = options.get(`${args.type}::${args.name}`);
      resources.push({ type: args.type, name: args.name, inputs: args.inputs, protect: false, retainOnDelete: false, dependsOn: [], ...opts });
      return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs) };
    },
    call: (args) => args.inputs,
  }, "mailserver", "test", false);
  pulumi.runtime.setAllConfig(config, Object.keys(config).filter((k) => /password|users|apiToken/i.test(k)));
  const record = (t: pulumi.ResourceTransformationArgs) => {
    const deps = Array.isArray(t.opts.dependsOn) ? t.opts.dependsOn : t.opts.dependsOn ? [t.opts.dependsOn] : [];
    options.set(`${t.type}::${t.name}`, {
      protect: t.opts.protect === true,
      retainOnDelete: t.opts.retainOnDelete === true,
      dependsOn: deps.map((d) => (d as unknown as { __name: string }).__name),
    });
    return undefined;
  };
  // A fresh module instance per run, as `pulumi up` would have.
  let program!: () => Promise<Record<string, unknown>>;
  jest.isolateModules(() => {
    program = require("../../index");
  });
  try {
    const outputs: Record<string, unknown> = {};
    let failure: Error | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation(record);
      // Caught here, where `pulumi up` would report it, so it does not escape as an unhandled rejection.
      try {
        Object.assign(outputs, await program());
      } catch (e) {
        failure = e as Error;
      }
      return undefined;
    });
    if (failure) throw failure;
    const resolved: Record<string, { value: unknown; secret: boolean }> = {};
    for (const [k, v] of Object.entries(outputs)) {
      resolved[k] = pulumi.Output.isInstance(v)
        ? { value: await new Promise((r) => v.apply((x: unknown) => r(x))), secret: await pulumi.isSecret(v) }
        : { value: v, secret: false };
    }
    await pulumi.runtime.disconnect();
    return { resources, outputs: resolved };
  } catch (e) {
    return { resources, outputs: {}, error: e as Error };
  }
}

export const byType = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);

/** The value at a dotted path ("a.b.0.c") inside resource inputs. */
export function dig(v: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (at === null || typeof at !== "object" ? undefined : (at as Record<string, unknown>)[key]), v);
}
