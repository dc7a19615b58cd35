// What the lab's Google Cloud holds for the VM to read back: Secret Manager versions, who may access each
// secret, the service account the instance runs as, and its guest attributes. Written by the mocks (lab/mocks.ts), read by the
// metadata and Secret Manager stand-ins (lab/gcp-server.ts). Holds secrets: 0600 in the 0700 .lab.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./write-file";

export interface SecretVersionState { data: string; state: "ENABLED" | "DISABLED" | "DESTROYED" }

export interface CloudStore {
  /** Secret resource name (projects/*\/secrets/*) → its versions, version n at index n-1. */
  secrets: Record<string, SecretVersionState[]>;
  /** Secret resource name → members with roles/secretmanager.secretAccessor. */
  secretAccessors: Record<string, string[]>;
  /** The running instance's service account email. */
  instanceServiceAccount?: string;
  /**
   * The running instance's guest attributes, "<namespace>/<key>" → value: the lab publishes the host key when the
   * machine boots (as google-guest-agent does), and anything on the VM may PUT one through the metadata server.
   */
  guestAttributes?: Record<string, string>;
}

export function loadCloud(file: string): CloudStore {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as CloudStore;
  } catch {
    return { secrets: {}, secretAccessors: {} };
  }
}

export function updateCloud(file: string, change: (c: CloudStore) => void): CloudStore {
  const c = loadCloud(file);
  change(c);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(c, null, 2), 0o600);
  return c;
}
