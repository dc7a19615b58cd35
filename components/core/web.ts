// What the web server on 443 serves (only the MTA-STS policy and the client configuration documents:
// Thunderbird's autoconfig, Outlook's autodiscover) and the names the server's one certificate must cover
// for it (core/provision.ts certificateNames).
import type { MailStackConfig } from "./config";
import { autoconfigHost } from "./autoconfig";
import { autodiscoverHost } from "./autodiscover";
import { mtaStsHost } from "./mta-sts";

/** Every name served on 443, per hosted domain in config order. */
export function webHosts(config: Pick<MailStackConfig, "domains">): string[] {
  return config.domains.flatMap((d) => [mtaStsHost(d.name), autoconfigHost(d.name), autodiscoverHost(d.name)]);
}
