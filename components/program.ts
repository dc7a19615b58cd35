// The Pulumi program: validate the config (before any resource exists), then build the mail server.
import { generateKeyPairSync } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { renderFiles } from "./core/render";
import { MailServer } from "./mail-server";
import type { FileSpec } from "./push";

/** A throwaway DKIM key for listing the files: only paths and metadata are kept from that render. */
function listingKey(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export async function program() {
  const config = loadConfig();
  const key = listingKey();
  const listing = await renderFiles({ config, dkimPrivateKeys: Object.fromEntries(config.domains.map((d) => [d.name, key])) });
  const files: FileSpec[] = listing.map(({ content: _content, ...spec }) => spec);
  const server = new MailServer("mail", { config, files });
  return {
    ip: server.ip,
    hostname: server.hostname,
    sshCommand: server.sshCommand,
    deployPrivateKey: server.deployPrivateKey,
    clientSettings: server.clientSettings,
    dnsRecords: server.dnsRecords,
    lastApply: server.applied,
    stack: pulumi.getStack(),
  };
}
