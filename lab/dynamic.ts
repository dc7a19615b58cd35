// How the engine runs a dynamic resource (pulumi.dynamic.Resource): its provider is the serialized text the SDK put in
// the input `__provider`; the pulumi-nodejs plugin (pulumi/pulumi sdk/nodejs/cmd/dynamic-provider/index.ts, as installed
// in node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js) loads it as a CommonJS module from the project directory
// (require-from-string), calls `handler()` for the provider, and hands it olds and news with `__provider` kept in the
// outputs (resultIncludingProvider). The lab and the stack tests run it the same way, for real.
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type { Inputs } from "./engine/diff";

export const isDynamic = (type: string): boolean => type.startsWith("pulumi-nodejs:dynamic");
export const PROVIDER_KEY = "__provider";

const cache = new Map<string, pulumi.dynamic.ResourceProvider>();
/** The provider of a dynamic resource, from its serialized text (getProvider: one per text, as the plugin caches). */
export function providerOf(props: Inputs): pulumi.dynamic.ResourceProvider {
  const text = props[PROVIDER_KEY];
  if (typeof text !== "string") throw new Error("a dynamic resource without its serialized __provider");
  let provider = cache.get(text);
  if (!provider) {
    const module = { exports: {} as { handler?: () => pulumi.dynamic.ResourceProvider } };
    new Function("module", "exports", "require", text)(module, module.exports, projectRequire());
    if (!module.exports.handler) throw new Error("the serialized __provider has no handler");
    provider = module.exports.handler();
    cache.set(text, provider);
  }
  return provider;
}

/** require-from-string resolves the provider's requires from the project directory, where the plugin runs. */
const projectRequire = (): NodeJS.Require => createRequire(path.join(process.cwd(), "dynamic-provider.js"));

const withProvider = (outs: Inputs | undefined, props: Inputs): Inputs => ({ ...(outs ?? {}), [PROVIDER_KEY]: props[PROVIDER_KEY] });

/** check (its inputs replace the news; a failure stops the deploy, naming the property), then create. */
export async function dynamicCreate(inputs: Inputs, given?: pulumi.dynamic.ResourceProvider): Promise<{ id: string; outputs: Inputs }> {
  const provider = given ?? providerOf(inputs);
  const olds: Inputs = {};
  let news = inputs;
  if (provider.check) {
    const checked = await provider.check(olds, inputs);
    if (checked.failures && checked.failures.length > 0) {
      throw new Error(checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
    }
    news = { ...(checked.inputs ?? inputs), [PROVIDER_KEY]: inputs[PROVIDER_KEY] };
  }
  const made = await provider.create(news);
  return { id: made.id, outputs: withProvider(made.outs as Inputs | undefined, news) };
}
