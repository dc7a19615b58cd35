// The Pulumi program: validate the config (before any resource exists), then build the mail server.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { SERVER_NAME } from "./core/names";
import { renderConfigFiles } from "./core/render";
import { MailServer } from "./mail-server";
import { checkMailgunAccess } from "./mailgun";

export async function program() {
  const config = loadConfig();
  if (config.relay.mailgun) await checkMailgunAccess(config.relay.mailgun);
  // Everything but the DKIM keys renders from config alone; MailServer adds the key files from its keys.
  const files = await renderConfigFiles(config);
  const server = new MailServer(SERVER_NAME, { config, files });
  // A zone change that would leave the mail behind stops the program here, with the way to move it.
  await server.zoneChecked;
  return {
    ip: server.ip,
    hostname: server.hostname,
    sshCommand: server.sshCommand,
    sshHostKey: server.sshHostKey,
    deployPrivateKey: server.deployPrivateKey,
    clientSettings: server.clientSettings,
    dnsRecords: server.dnsRecords,
    lastApply: server.applied,
    dnssecDs: server.dnssecDs,
    tlsaRecords: server.tlsaRecords,
    stack: pulumi.getStack(),
  };
}
