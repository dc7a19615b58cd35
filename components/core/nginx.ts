// The web server's view: what nginx.conf serves, as nginx string literals. The documents are answered by
// `return 200 "…"` from the configuration itself, so `nginx -t` checks every byte served and there is no
// document root that could serve anything else.
import type { MailStackConfig } from "./config";
import { AUTOCONFIG_PATH, autoconfigHost, autoconfigXml } from "./autoconfig";
import { AUTODISCOVER_PATH, autodiscoverHost, autodiscoverXml } from "./autodiscover";
import { MTA_STS_POLICY_PATH, mtaStsHost, mtaStsPolicy } from "./mta-sts";

/**
 * A double-quoted nginx string: nginx's parser resolves \" \\ \n (ngx_conf_read_token). It has no escape
 * for $, which starts a variable in `return`, so text holding one is refused.
 */
export function nginxString(text: string): string {
  if (text.includes("$")) throw new Error(`nginx: text to serve contains $, which nginx would read as a variable: ${text.slice(0, 40)}`);
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, "\\n")}"`;
}

export function nginxView(config: MailStackConfig) {
  return {
    mtaStsHosts: config.domains.map((d) => mtaStsHost(d.name)).join(" "),
    mtaStsPath: MTA_STS_POLICY_PATH,
    mtaStsPolicy: nginxString(mtaStsPolicy(config)),
    autoconfigHosts: config.domains.map((d) => autoconfigHost(d.name)).join(" "),
    autoconfigPath: AUTOCONFIG_PATH,
    autoconfigXml: nginxString(autoconfigXml(config)),
    autodiscoverHosts: config.domains.map((d) => autodiscoverHost(d.name)).join(" "),
    // A case-insensitive exact match (~*), the dots escaped: Outlook spells the path in either case.
    autodiscoverPathPattern: `^${AUTODISCOVER_PATH.replaceAll(".", "\\.")}$`,
    autodiscoverXml: nginxString(autodiscoverXml(config)),
  };
}
