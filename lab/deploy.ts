// Runs the project's own program (index.ts) under pulumi.runtime.setMocks with the lab's mocks: the same
// resources GCE and Cloudflare would get, each made real locally, through the lab engine. Fails with the first error.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import type { Step } from "./engine/engine";
import { keyOf, ResourceOpts } from "./engine/engine";
import { Dependencies, recordDependencies } from "./dependencies";
import { CommandRun, LabMocks } from "./mocks";
import { DEFAULT_CIDR, NET, REPO } from "./paths";
import { DEFAULT_RELEASE, type DebianRelease, debianReleaseOf } from "../components/core/release";

/** The stack file's values as the Pulumi CLI hands them to a program: strings, structured values as JSON. */
export function readStackConfig(file: string): Record<string, string> {
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc?.config ?? {})) {
    if (typeof v === "object" && v !== null && "secure" in v) throw new Error(`${file}: ${k} is a secure: value; the lab needs plain values`);
    out[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return withLabImage(forThisInstance(out));
}

/**
 * LAB_IMAGE (e.g. debian-cloud/debian-13) stands for mailserver:image in every stack file the lab reads, the suite's
 * temporary copies included: the whole e2e suite runs on that release without a second lab/stack.yaml.
 */
export function withLabImage(config: Record<string, string>, image = process.env.LAB_IMAGE): Record<string, string> {
  if (image === undefined || image === "") return config;
  if (debianReleaseOf(image) === undefined) {
    throw new Error(`LAB_IMAGE=${image} names no Debian release we support: use debian-cloud/debian-12 or debian-cloud/debian-13`);
  }
  return { ...config, "mailserver:image": image };
}

/** The Debian release the stack's VM boots (its mailserver:image; the config schema refuses any other image). */
export function releaseOf(config: Record<string, string>): DebianRelease {
  const image = config["mailserver:image"];
  return image === undefined ? DEFAULT_RELEASE : debianReleaseOf(image) ?? DEFAULT_RELEASE;
}

/** The stack file names instance 0's network; another lab instance (LAB_INSTANCE) has its own. */
export function forThisInstance(config: Record<string, string>): Record<string, string> {
  if (NET.cidr === DEFAULT_CIDR) return config;
  const [from, to] = [DEFAULT_CIDR, NET.cidr].map((c) => c.replace(/0\/24$/, ""));
  const out = { ...config };
  for (const key of ["mailserver:sshSourceRanges", "mailserver:abuseExemptRanges"]) {
    if (out[key] === undefined) continue;
    const ranges = (JSON.parse(out[key]) as string[]).map((r) => (r.startsWith(from) ? to + r.slice(from.length) : r));
    out[key] = JSON.stringify(ranges);
  }
  // The Mailgun API stand-in listens on the host's lab address.
  const api = out["mailserver:mailgunApiUrl"];
  if (api !== undefined) out["mailserver:mailgunApiUrl"] = api.replace(`//${from}`, `//${to}`);
  return out;
}

/** Cloudflare zone id → apex, from mailserver:domain/zoneId and extraDomains. */
export function zonesOf(config: Record<string, string>): Record<string, string> {
  const zones: Record<string, string> = {};
  if (config["mailserver:zoneId"] && config["mailserver:domain"]) zones[config["mailserver:zoneId"]] = config["mailserver:domain"];
  const extra = JSON.parse(config["mailserver:extraDomains"] ?? "[]") as { name: string; zoneId: string }[];
  for (const d of extra) zones[d.zoneId] = d.name;
  return zones;
}

export function hostnameOf(config: Record<string, string>): string {
  return config["mailserver:hostname"] ?? `mail.${config["mailserver:domain"]}`;
}

/**
 * An output's value, or the program's first error. An apply that throws (a refused host key, say) rejects the
 * output, and `pulumi up` or `pulumi preview` stops with that error; waiting in an apply of our own would never
 * return. The SDK's Output keeps its promise as promise() (undefined where a preview does not know the value).
 */
async function settle<T>(v: unknown, mocks: LabMocks): Promise<T> {
  if (!pulumi.Output.isInstance(v)) return v as T;
  const value = (v as unknown as { promise(): Promise<T> }).promise();
  return new Promise<T>((resolve, reject) => {
    const timer = setInterval(() => { if (mocks.errors.length > 0) { clearInterval(timer); reject(mocks.errors[0]); } }, 200);
    value.then((x) => { clearInterval(timer); resolve(x); }, (e: unknown) => { clearInterval(timer); reject(e); });
  });
}

export interface DeployRun {
  outputs: Record<string, unknown>;
  steps: Step[];
  /** What the engine refused in a preview (protect): the plan is still complete. */
  refused: string[];
  commands: CommandRun[];
}

/**
 * Runs the program once under the lab mocks. A preview diffs every registration against the state and
 * runs nothing (outputs that would change are unknown, as in `pulumi preview`); a deploy carries the steps
 * out, then deletes what is no longer registered.
 */
export async function runProgram(config: Record<string, string>, preview: boolean): Promise<DeployRun> {
  const options = new Map<string, ResourceOpts>();
  const triggers = new Map<string, pulumi.Output<unknown>>();
  const dependencies = new Map<string, Dependencies>();
  const mocks = new LabMocks({ zones: zonesOf(config), hostname: hostnameOf(config), preview, options, triggers, dependencies });
  const unhandled: Error[] = [];
  const onUnhandled = (e: unknown) => { unhandled.push(e instanceof Error ? e : new Error(String(e))); };
  process.on("unhandledRejection", onUnhandled);
  try {
    await pulumi.runtime.setMocks(mocks, "mailserver", "lab", preview);
    recordDependencies(dependencies);
    pulumi.runtime.setAllConfig(config, Object.keys(config).filter((k) => /password|users|apiToken|apiKey/i.test(k)));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(REPO, "index")) as () => Promise<Record<string, unknown>>;
    const outputs: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((t) => {
        options.set(keyOf(t.type, t.name), optionsOf(t.opts));
        const trigger = (t.opts as pulumi.CustomResourceOptions).replacementTrigger;
        if (trigger !== undefined) triggers.set(keyOf(t.type, t.name), pulumi.output(trigger));
        return undefined;
      });
      Object.assign(outputs, await program());
      return undefined;
    });
    const resolved: Record<string, unknown> = {};
    // A preview's outputs may stay unknown (their applies never run), but a known one that failed fails the preview.
    for (const [k, v] of Object.entries(outputs)) {
      const value = await settle(v, mocks);
      if (!preview) resolved[k] = value;
    }
    await pulumi.runtime.disconnect();
    while (mocks.busy) await new Promise((r) => setTimeout(r, 200));
    const first = mocks.errors[0] ?? unhandled[0];
    if (first) throw first;
    await mocks.finish();
    return { outputs: resolved, steps: mocks.engine.steps, refused: mocks.engine.refused, commands: mocks.provider.commands };
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
}

/**
 * The options the engine needs, read where the SDK documents them (a stack transformation sees every
 * resource's options; the mock monitor does not pass them to Mocks.newResource). Dependencies, explicit and
 * implicit, come from the registration request (lab/dependencies.ts).
 */
function optionsOf(o: pulumi.CustomResourceOptions): ResourceOpts {
  return {
    deleteBeforeReplace: o.deleteBeforeReplace === true,
    retainOnDelete: o.retainOnDelete === true,
    protect: o.protect === true,
    ignoreChanges: o.ignoreChanges ?? [],
    replaceOnChanges: o.replaceOnChanges ?? [],
  };
}
