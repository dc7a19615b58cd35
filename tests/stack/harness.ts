// Runs the real program under Pulumi's mock runtime and records every resource it registers.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { dynamicCreate, isDynamic, PROVIDER_KEY, providerOf } from "../../lab/dynamic";

export interface Recorded {
  type: string;
  name: string;
  /** Inputs as the engine receives them: secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  /** The ignoreChanges option: the engine diffs and stores the old value at these input paths. */
  ignoreChanges: string[];
  /** The replaceOnChanges option: a change at these input paths replaces. */
  replaceOnChanges: string[];
  dependsOn: string[];
  /** The resources whose outputs its inputs use (the engine's implicit dependencies), as "type::name". */
  inputDeps: string[];
  /** The resource option additionalSecretOutputs: outputs the engine stores and shows as secrets. */
  additionalSecretOutputs: string[];
  /** The replacementTrigger option's value, resolved after the run (undefined: none). */
  replacementTrigger?: unknown;
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

const secretValue = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });

/** A value with every secret wrapper removed, as a provider receives its inputs. */
export function unwrapAll(v: unknown): unknown {
  if (isSecretValue(v)) return unwrapAll((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unwrapAll);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapAll(x)]));
  return v;
}

/**
 * The engine marks a resource's additionalSecretOutputs secret; the SDK mocks do not. The tls SDK declares
 * privateKeyOpenssh, privateKeyPem and privateKeyPemPkcs8 there (@pulumi/tls/privateKey.js, from the
 * provider schema's `secret: true`), so this is what makes every value computed from a key secret here too.
 */
function markSecrets(state: Record<string, unknown>, secretOutputs: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, secretOutputs.includes(k) ? secretValue(v) : v]));
}

/**
 * The resources behind every Output in a resource's inputs: what the engine records as its property
 * dependencies. Output.resources() is the SDK's own bookkeeping (sdk/nodejs/output.ts), not in its .d.ts.
 */
function outputResources(v: unknown, seen = new Set<unknown>()): string[] {
  if (typeof v !== "object" || v === null || seen.has(v)) return [];
  seen.add(v);
  if (pulumi.Output.isInstance(v)) {
    const tracked = (v as unknown as { resources(): Set<pulumi.Resource> }).resources();
    return [...tracked].map((r) => {
      const { __pulumiType: type, __name: name } = r as unknown as { __pulumiType: string; __name: string };
      return `${type}::${name}`;
    });
  }
  return Object.values(v).flatMap((x) => outputResources(x, seen));
}

/** A scratch server root for the real mailserver-stage script (its state lives under /var/lib/mailserver). */
const stageRoot = mkdtempSync(join(tmpdir(), "stage-"));
const stageScript = join(stageRoot, "mailserver-stage");
writeFileSync(stageScript, readFileSync(join(__dirname, "..", "..", "templates", "provision", "mailserver-stage.sh"), "utf8")
  .replaceAll("/var/lib/mailserver", stageRoot));

/**
 * The stage script's line is a function of its arguments and stdin alone (path, content hash, mode, owner,
 * group), so each distinct call runs once per test file: a program run stages some forty files, and the stack
 * tests run the program dozens of times.
 */
const stageLines = new Map<string, string>();

/** stdout of a remote command: the real stage script's, run on its command line and stdin; a marker otherwise. */
function commandStdout(name: string, inputs: Record<string, unknown>): string {
  const create = String(inputs.create ?? "");
  const prefix = "sudo /usr/local/sbin/mailserver-stage ";
  if (!create.startsWith(prefix)) return `ran ${name}`;
  const stdin = String(unwrap(inputs.stdin) ?? "");
  const call = `${create}\0${stdin}`;
  const known = stageLines.get(call);
  if (known !== undefined) return known;
  const r = spawnSync("bash", ["-c", `bash ${stageScript} ${create.slice(prefix.length)}`], { input: stdin, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mailserver-stage failed for ${name}: ${r.stderr}`);
  stageLines.set(call, r.stdout);
  return r.stdout;
}

/** Outputs the provider would compute, so that the program's applies have values to work with. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "gcp:compute/address:Address":
      return { ...inputs, address: "198.51.100.7" };
    case "gcp:serviceaccount/account:Account":
      return { ...inputs, email: `${String(inputs.accountId)}@proj.iam.gserviceaccount.com` };
    case "gcp:secretmanager/secretVersion:SecretVersion":
      return { ...inputs, name: `${String(inputs.secret)}/versions/1`, version: "1" };
    case "gcp:secretmanager/secret:Secret":
      return { ...inputs, name: `projects/proj/secrets/${String(inputs.secretId)}` };
    case "tls:index/privateKey:PrivateKey":
      return { ...inputs, ...testKey(name, String(inputs.algorithm), Number(inputs.rsaBits ?? 2048), String(inputs.ecdsaCurve ?? "P224")) };
    case "command:remote:Command":
      return { ...inputs, stdout: commandStdout(name, inputs), stderr: "" };
    case "command:local:Command":
      return { ...inputs, stdout: `ran ${name}`, stderr: "" };
    case "gcp:compute/instance:Instance":
      return { ...inputs, name: inputs.name ?? name, instanceId: TEST_INSTANCE_ID };
    // pulumi/pulumi pkg/resource/deploy/builtins.go: a new Stash's output is its input.
    case "pulumi:index:Stash":
      return { ...inputs, output: inputs.input };
    case "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig":
      return { ...inputs, uptimeCheckId: `${name}-check-id`, name: `projects/proj/uptimeCheckConfigs/${name}-check-id` };
    default:
      return { ...inputs, name: inputs.name ?? name };
  }
}

/**
 * One key per resource name, kept across runs: as in Pulumi state, a resource keeps its key, a new one gets
 * its own. A real key of the requested kind and size (the tls provider's rsaBits default is 2048).
 */
const keys = new Map<string, Record<string, string>>();
function testKey(name: string, algorithm: string, rsaBits: number, ecdsaCurve: string): Record<string, string> {
  if (!keys.has(name)) {
    const pair = algorithm === "RSA" ? generateKeyPairSync("rsa", { modulusLength: rsaBits })
      : algorithm === "ECDSA" ? generateKeyPairSync("ec", { namedCurve: ecdsaCurve.replace(/^P/, "P-") })
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

/** The unique id GCE gives the mocked instance. */
export const TEST_INSTANCE_ID = "4711000000000000001";

/** The ED25519 host key (base64) the mocked guest attributes publish. */
export const TEST_HOST_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTestVm";

/** A dynamic resource as the engine keeps it between runs: its id and its outputs (plain, with the serialized provider). */
export interface DynamicState { id: string; outputs: Record<string, unknown> }
/** What the run did with a dynamic resource: its provider's diff against the state decides, as the engine's. */
export type DynamicStep = "create" | "same" | "update" | "replace";

export interface RunResult {
  /** Every invoke, in order. */
  calls: { token: string; inputs: Record<string, unknown> }[];
  /** Each dynamic resource's step, by name. */
  dynamicSteps: Record<string, DynamicStep>;
  resources: Recorded[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  error?: Error;
}

/** A fresh module instance of index.ts per run, as `pulumi up` would have. */
function freshIndex(): () => Promise<Record<string, unknown>> {
  let program!: () => Promise<Record<string, unknown>>;
  jest.isolateModules(() => {
    program = require("../../index");
  });
  return program;
}

export interface RunOptions {
  /** The stack name (pulumi.getStack()). */
  stack?: string;
  /** Runs this instead of index.ts, e.g. one component with hand-made inputs. */
  program?: () => Promise<Record<string, unknown>>;
  /**
   * Answers getInstanceGuestAttributes in place of the published TEST_HOST_KEY (throw to fail the invoke, as the
   * provider does when it cannot read the instance).
   */
  guestAttributes?: (inputs: Record<string, unknown>) => Record<string, unknown>;
  /** Told of every registration as it happens (before its outputs exist), e.g. to serve the DNS records registered so far. */
  onRegister?: (type: string, name: string, inputs: Record<string, unknown>) => void;
  /** Keys handed over as plain values although their name says secret (a stack file holding them unencrypted). */
  plainKeys?: string[];
  /**
   * Outputs by resource name that a previous deploy left in the state, reported for an unchanged resource
   * (e.g. a data disk whose ignored zone is still the old one).
   */
  previous?: Record<string, Record<string, unknown>>;
  /**
   * The dynamic resources' state by name, read and written by the run: a resource found there is diffed by its provider
   * (no change keeps its outputs, a change updates, a replacing field creates anew), one not found is created.
   */
  dynamicState?: Map<string, DynamicState>;
}

/**
 * A dynamic resource's provider really runs, from the serialized text the SDK put in `__provider`, as the engine's
 * pulumi-nodejs plugin loads it and as the lab runs it (lab/dynamic.ts): so a provider that cannot be serialized, or
 * that only works with this process's modules, fails here too.
 */
async function dynamicResource(name: string, inputs: Record<string, unknown>, state: Map<string, DynamicState>, steps: Record<string, DynamicStep>): Promise<DynamicState> {
  const old = state.get(name);
  let now: DynamicState;
  if (!old) {
    steps[name] = "create";
    now = await dynamicCreate(inputs);
  } else {
    const provider = providerOf(inputs);
    const diff = await provider.diff!(old.id, old.outputs, inputs);
    if ((diff.replaces ?? []).length > 0) {
      steps[name] = "replace";
      now = await dynamicCreate(inputs);
    } else if (diff.changes) {
      steps[name] = "update";
      const updated = await provider.update!(old.id, old.outputs, inputs);
      now = { id: old.id, outputs: { ...(updated.outs ?? {}), [PROVIDER_KEY]: inputs[PROVIDER_KEY] } };
    } else {
      steps[name] = "same";
      now = old;
    }
  }
  state.set(name, now);
  return now;
}

/**
 * An output's value, or its error: an apply that throws (a refused host key, say) fails the run as `pulumi up`
 * would, where waiting in an apply of our own would never return. The SDK's Output keeps its promise as promise().
 */
const settled = (v: pulumi.Output<unknown>): Promise<unknown> => (v as unknown as { promise(): Promise<unknown> }).promise();

/** Runs index.ts with the given raw config (`namespace:key` → string) and waits until every resource is registered. */
export async function runProgram(config: Record<string, string>, run: RunOptions = {}): Promise<RunResult> {
  const resources: Recorded[] = [];
  const calls: RunResult["calls"] = [];
  const dynamicSteps: Record<string, DynamicStep> = {};
  const dynamicState = run.dynamicState ?? new Map<string, DynamicState>();
  const options = new Map<string, { protect: boolean; retainOnDelete: boolean; deleteBeforeReplace: boolean; ignoreChanges: string[]; replaceOnChanges: string[]; dependsOn: string[]; inputDeps: string[]; secretOutputs: string[] }>();
  const triggers = new Map<string, pulumi.Output<unknown>>();
  pulumi.runtime.setMocks({
    newResource: async (args) => {
      const { secretOutputs = [], ...opts } = options.get(`${args.type}::${args.name}`) ?? {};
      resources.push({
        type: args.type, name: args.name, inputs: args.inputs, protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependsOn: [], inputDeps: [],
        ...opts, additionalSecretOutputs: secretOutputs,
      });
      run.onRegister?.(args.type, args.name, args.inputs);
      if (isDynamic(args.type)) {
        const made = await dynamicResource(args.name, unwrapAll(args.inputs) as Record<string, unknown>, dynamicState, dynamicSteps);
        return { id: made.id, state: markSecrets(made.outputs, secretOutputs) };
      }
      const state = { ...fakeState(args.type, args.name, args.inputs), ...run.previous?.[args.name] };
      return { id: `${args.name}-id`, state: markSecrets(state, secretOutputs) };
    },
    call: (args) => {
      calls.push({ token: args.token, inputs: args.inputs });
      // The guest agent's published host key (see HOST_KEY_ATTRIBUTE in components/host.ts).
      if (args.token === "gcp:compute/getInstanceGuestAttributes:getInstanceGuestAttributes") {
        return run.guestAttributes ? run.guestAttributes(args.inputs) : { ...args.inputs, variableValue: TEST_HOST_KEY };
      }
      return args.inputs;
    },
  }, "mailserver", run.stack ?? "test", false);
  pulumi.runtime.setAllConfig(config, Object.keys(config)
    .filter((k) => /password|users|apiToken|apiKey/i.test(k) && !(run.plainKeys ?? []).includes(k)));
  const record = (t: pulumi.ResourceTransformationArgs) => {
    const deps = Array.isArray(t.opts.dependsOn) ? t.opts.dependsOn : t.opts.dependsOn ? [t.opts.dependsOn] : [];
    options.set(`${t.type}::${t.name}`, {
      protect: t.opts.protect === true,
      retainOnDelete: t.opts.retainOnDelete === true,
      deleteBeforeReplace: (t.opts as pulumi.CustomResourceOptions).deleteBeforeReplace === true,
      ignoreChanges: t.opts.ignoreChanges ?? [],
      replaceOnChanges: (t.opts as pulumi.CustomResourceOptions).replaceOnChanges ?? [],
      secretOutputs: (t.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [],
      dependsOn: deps.map((d) => (d as unknown as { __name: string }).__name),
      inputDeps: [...new Set(outputResources(t.props))].sort(),
    });
    const trigger = (t.opts as pulumi.CustomResourceOptions).replacementTrigger;
    if (trigger !== undefined) triggers.set(`${t.type}::${t.name}`, pulumi.output(trigger));
    return undefined;
  };
  const program = run.program ?? freshIndex();
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
        ? { value: await settled(v), secret: await pulumi.isSecret(v) }
        : { value: v, secret: false };
    }
    for (const r of resources) {
      const trigger = triggers.get(`${r.type}::${r.name}`);
      if (trigger) r.replacementTrigger = await settled(trigger);
    }
    await pulumi.runtime.disconnect();
    return { calls, dynamicSteps, resources, outputs: resolved };
  } catch (e) {
    // A program that stopped with resources still registering: let them finish here, not in the next run's mocks.
    await pulumi.runtime.disconnect().catch(() => undefined);
    return { calls, dynamicSteps, resources, outputs: {}, error: e as Error };
  }
}

export const byType = (r: RunResult, type: string) => r.resources.filter((x) => x.type === type);

/** The value at a dotted path ("a.b.0.c") inside resource inputs. */
export function dig(v: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((at, key) => (at === null || typeof at !== "object" ? undefined : (at as Record<string, unknown>)[key]), v);
}
