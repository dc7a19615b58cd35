// Reads the stack configuration from the Pulumi runtime and validates it once, before any resource exists.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigError, MailStackConfig, NAMESPACE, parseConfig, SECRET_KEYS } from "./core/config";
import { environmentProblems, OtherStack } from "./core/environments";

/** Raw values of every key we know, plus any unknown `mailserver:` key so that typos are reported. */
function rawConfig(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const all = pulumi.runtime.allConfig();
  for (const key of new Set([...CONFIG_KEYS, ...Object.keys(all).filter((k) => k.startsWith("mailserver:"))])) {
    const value = pulumi.runtime.getConfig(key);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

const STACK_FILE = /^Pulumi\.(.+)\.ya?ml$/;

/**
 * The DNS names each stack file in `dir` (the project directory, where the CLI runs the program) claims, as
 * far as plain values tell: its domain, hostname and extra domains. Encrypted or malformed values are skipped.
 */
export function stackFileNames(dir: string): OtherStack[] {
  const others: OtherStack[] = [];
  for (const file of readdirSync(dir).filter((f) => STACK_FILE.test(f)).sort()) {
    let config: Record<string, unknown>;
    try {
      const doc: unknown = parse(readFileSync(join(dir, file), "utf8"));
      const c = (doc as { config?: unknown } | null)?.config;
      if (typeof c !== "object" || c === null) continue;
      config = c as Record<string, unknown>;
    } catch {
      continue;
    }
    const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim().toLowerCase() : undefined);
    const domain = text(config["mailserver:domain"]);
    const extra = Array.isArray(config["mailserver:extraDomains"]) ? config["mailserver:extraDomains"] as unknown[] : [];
    const names = [
      domain,
      text(config["mailserver:hostname"]) ?? (domain ? `mail.${domain}` : undefined),
      ...extra.map((d) => text((d as { name?: unknown } | null)?.name)),
    ].filter((n): n is string => n !== undefined);
    others.push({ stack: STACK_FILE.exec(file)![1], names });
  }
  return others;
}

/**
 * The runtime's record of which keys the CLI decrypted (sdk/nodejs/runtime/config.ts isConfigSecret, internal: it reads
 * PULUMI_CONFIG_SECRET_KEYS, which the CLI fills with the keys held as `secure:` values).
 */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret: (k: string) => boolean }).isConfigSecret;

/**
 * Our secret keys that are set in plain text. Pulumi.yaml cannot declare an optional key secret (the CLI would refuse
 * every stack that leaves it unset), so the program refuses the plain value.
 */
export function plainSecrets(raw: Record<string, unknown>): string[] {
  return SECRET_KEYS.filter((k) => k.startsWith(`${NAMESPACE}:`) && raw[k] !== undefined && raw[k] !== "" && !isConfigSecret(k))
    .map((k) => `${k}: is stored in plain text in the stack file — set it again with pulumi config set --secret ${k} <value>`);
}

/** Validated stack config; throws a ConfigError listing every problem, with its key and fix. */
export function loadConfig(): MailStackConfig {
  const raw = rawConfig();
  const plain = plainSecrets(raw);
  if (plain.length > 0) throw new ConfigError(plain);
  const config = parseConfig(raw);
  const problems = environmentProblems(config, pulumi.getStack(), stackFileNames(process.cwd()));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
