// The lab's state file: per resource its type, name, provider id, inputs, outputs and
// dependencies, in registration order (the order deletes reverse). Holds secrets in plain text, as a
// local Pulumi backend's checkpoint would if it had no passphrase: .lab is 0700 and the file 0600.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Inputs } from "./diff";
import { writeFileAtomic } from "../write-file";

export interface StoredResource {
  /** type::name: this program's resource names are unique per type. */
  key: string;
  type: string;
  name: string;
  id: string;
  inputs: Inputs;
  outputs: Inputs;
  /** The keys of the resources it depends on: explicitly (dependsOn) or through its inputs, as registered. */
  dependencies?: string[];
  /** Per top-level input, the keys of the resources its value came from (the request's property dependencies). */
  propertyDependencies?: Record<string, string[]>;
  /** The ignoreChanges and replaceOnChanges options as last registered: a dependent's diff uses them. */
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  deleteBeforeReplace?: boolean;
  /** Deleting it only forgets it (the option as last registered). */
  retainOnDelete?: boolean;
  /** The replacementTrigger option's value as last registered. */
  replacementTrigger?: unknown;
  protect?: boolean;
  /** Dotted input paths that held secrets: a change of secretness alone is a diff. */
  secrets?: string[];
  /** A replaced original the last deploy did not get to delete. */
  pendingDelete?: boolean;
}

interface StateFile { version: 1; resources: StoredResource[] }

export function loadState(file: string): StoredResource[] {
  if (!fs.existsSync(file)) return [];
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as StateFile;
  if (doc.version !== 1) throw new Error(`${file}: unknown state version ${String(doc.version)}`);
  return doc.resources;
}

export function saveState(file: string, resources: StoredResource[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify({ version: 1, resources } satisfies StateFile, null, 1), 0o600);
}
