// Alerts without anyone watching: Cloud Monitoring probes the mail ports from outside Google's network edge
// and mails the admin (at an address this server does not host) when they stop answering. Wires resources only.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Inbound mail (MX), submission and IMAP: what users notice first when it stops. */
export const UPTIME_PORTS = [25, 587, 993] as const;

export interface MailMonitoringArgs {
  project: string;
  hostname: string;
  /** The static IP: probed directly, so a DNS mistake does not hide an outage (and vice versa). */
  ip: pulumi.Input<string>;
  alertEmail: string;
}

export class MailMonitoring extends pulumi.ComponentResource {
  public readonly uptimeCheckIds: pulumi.Output<string>[];

  constructor(name: string, args: MailMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailMonitoring", name, {}, opts);
    const parent = { parent: this };

    // A TCP check is a connect, not a protocol exchange: it finds the VM, firewall or daemon gone (a hung
    // daemon that still accepts is the daily self-check's business). uptime_url with the IP as host: the
    // check needs no instance id, so a replaced VM keeps its checks (monitoredResource is ForceNew in
    // terraform-provider-google google/services/monitoring/resource_monitoring_uptime_check_config.go).
    const checks = UPTIME_PORTS.map((port) => new gcp.monitoring.UptimeCheckConfig(`${name}-uptime-${port}`, {
      project: args.project,
      displayName: `${args.hostname} tcp/${port}`,
      period: "60s",
      timeout: "10s",
      tcpCheck: { port },
      monitoredResource: { type: "uptime_url", labels: { project_id: args.project, host: args.ip } },
    }, parent));
    this.uptimeCheckIds = checks.map((c) => c.uptimeCheckId);

    const channel = new gcp.monitoring.NotificationChannel(`${name}-alert-email`, {
      project: args.project,
      displayName: `Mail server ${args.hostname} admin`,
      type: "email",
      labels: { email_address: args.alertEmail },
    }, parent);

    // Google's own uptime alert: a check fails from more than one checker region for a minute (one region's
    // network trouble alone does not page). One condition per port, any of them opens an incident.
    new gcp.monitoring.AlertPolicy(`${name}-down`, {
      project: args.project,
      displayName: `${args.hostname} unreachable`,
      combiner: "OR",
      severity: "CRITICAL",
      conditions: checks.map((check, i) => ({
        displayName: `tcp/${UPTIME_PORTS[i]} failing`,
        conditionThreshold: {
          filter: pulumi.interpolate`metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND metric.label.check_id="${check.uptimeCheckId}" AND resource.type="uptime_url"`,
          aggregations: [{
            alignmentPeriod: "1200s",
            perSeriesAligner: "ALIGN_NEXT_OLDER",
            crossSeriesReducer: "REDUCE_COUNT_FALSE",
            groupByFields: ["resource.label.*"],
          }],
          comparison: "COMPARISON_GT",
          thresholdValue: 1,
          duration: "60s",
          trigger: { count: 1 },
        },
      })),
      documentation: {
        mimeType: "text/markdown",
        content: `${args.hostname} stopped answering on a mail port. Check it from outside with ` +
          "`npm run status -- --stack <stack>`, then the VM's serial console and `systemctl status 'postfix*' dovecot`.",
      },
      notificationChannels: [channel.name],
      alertStrategy: { autoClose: "1800s" },
    }, parent);

    this.registerOutputs({ uptimeCheckIds: this.uptimeCheckIds });
  }
}
