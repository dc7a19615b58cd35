// The Mailgun stand-in's spool: <id>.eml plus an <id>.json sidecar for every message it accepted.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { Lab } from "./lab";
import { waitFor } from "./wait";

// The stand-in names the envelope mailFrom/rcptTo (as smtp-server does); from/to are accepted as well.
const sidecarSchema = z.object({
  mailFrom: z.string().optional(),
  from: z.string().optional(),
  rcptTo: z.array(z.string()).optional(),
  to: z.array(z.string()).optional(),
  tls: z.boolean(),
  authUser: z.string().nullable().optional(),
}).transform((m) => ({ from: m.mailFrom ?? m.from, to: m.rcptTo ?? m.to, tls: m.tls, authUser: m.authUser ?? null }))
  .refine((m) => m.from !== undefined && m.to !== undefined, { message: "sidecar has no envelope (mailFrom/rcptTo)" });
export type Sidecar = z.infer<typeof sidecarSchema>;
export interface Spooled {
  id: string;
  meta: Sidecar;
  eml: Buffer;
}

/** Every spooled message whose raw text contains `needle` (a subject token). */
export function spooledWith(lab: Lab, needle: string): Spooled[] {
  const dir = lab.relay.spoolDir;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".eml") && existsSync(join(dir, f.replace(/\.eml$/, ".json"))))
    .map((f) => ({ id: f.replace(/\.eml$/, ""), eml: readFileSync(join(dir, f)) }))
    .filter((m) => m.eml.includes(needle))
    .map((m) => ({ ...m, meta: sidecarSchema.parse(JSON.parse(readFileSync(join(dir, `${m.id}.json`), "utf8"))) }));
}

export function waitForSpool(lab: Lab, needle: string, timeoutMs = 60_000): Promise<Spooled> {
  return waitFor(`"${needle}" in the relay spool ${lab.relay.spoolDir}`, async () => spooledWith(lab, needle)[0], {
    timeoutMs,
  });
}
