// Reads the stack configuration from the Pulumi runtime and validates it once, before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, MailStackConfig, parseConfig } from "./core/config";

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

/** Validated stack config; throws a ConfigError listing every problem, with its key and fix. */
export function loadConfig(): MailStackConfig {
  return parseConfig(rawConfig());
}
