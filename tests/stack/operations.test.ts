// Operations resources under mocks (issue 14): uptime checks, the alert policy and its e-mail channel; the
// snapshot schedule's location, labels and deletion rule; a restore from a snapshot.
import { UPTIME_PORTS } from "../../components/monitoring";
import { byType, dig, runProgram, RunResult } from "./harness";
import { stackConfig } from "./config";

const UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig";
const POLICY = "gcp:monitoring/alertPolicy:AlertPolicy";
const CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";
const monitoring = (r: RunResult) => r.resources.filter((x) => x.type.startsWith("gcp:monitoring/"));

let alerting: RunResult;
beforeAll(async () => {
  alerting = await runProgram(stackConfig({ "mailserver:alertEmail": "oncall@elsewhere.net" }));
  if (alerting.error) throw alerting.error;
});

test("with alertEmail: a TCP uptime check of 25, 587 and 993 on the static IP, one policy, one e-mail channel", () => {
  const checks = byType(alerting, UPTIME);
  expect(checks.map((c) => dig(c.inputs, "tcpCheck.port")).sort()).toEqual([25, 587, 993]);
  expect(UPTIME_PORTS).toEqual(expect.arrayContaining([25, 993]));
  for (const c of checks) {
    expect(c.inputs.monitoredResource).toEqual({ type: "uptime_url", labels: { project_id: "proj", host: "198.51.100.7" } });
    expect(c.inputs.period).toBe("60s");
  }
  const channel = byType(alerting, CHANNEL);
  expect(channel).toHaveLength(1);
  expect(channel[0].inputs.type).toBe("email");
  expect(channel[0].inputs.labels).toEqual({ email_address: "oncall@elsewhere.net" });
  const policy = byType(alerting, POLICY);
  expect(policy).toHaveLength(1);
  expect(policy[0].inputs.notificationChannels).toEqual([channel[0].inputs.name ?? "mail-alert-email"]);
  expect(policy[0].inputs.combiner).toBe("OR");
});

test("the policy has one condition per check, on that check's id", () => {
  const checks = byType(alerting, UPTIME);
  const conditions = dig(byType(alerting, POLICY)[0].inputs, "conditions") as { conditionThreshold: { filter: string; comparison: string } }[];
  expect(conditions).toHaveLength(checks.length);
  for (const [i, c] of conditions.entries()) {
    expect(c.conditionThreshold.filter).toContain('metric.type="monitoring.googleapis.com/uptime_check/check_passed"');
    expect(c.conditionThreshold.filter).toContain(`metric.label.check_id="${String(checks[i].name)}-check-id"`);
    expect(c.conditionThreshold.filter).toContain('resource.type="uptime_url"');
    expect(c.conditionThreshold.comparison).toBe("COMPARISON_GT");
    expect(c.conditionThreshold.filter).not.toBe(conditions[(i + 1) % conditions.length].conditionThreshold.filter);
  }
});

test("without alertEmail nothing of Cloud Monitoring is created", async () => {
  const plain = await runProgram(stackConfig());
  expect(plain.error).toBeUndefined();
  expect(monitoring(plain)).toEqual([]);
});

test("the monitoring resources do not grow with users", async () => {
  const many = Array.from({ length: 30 }, (_, i) => ({ address: `user${i}@example.com`, password: `pw-${i}` }));
  const big = await runProgram(stackConfig({ "mailserver:alertEmail": "oncall@elsewhere.net", "mailserver:users": many }));
  expect(big.error).toBeUndefined();
  expect(monitoring(big).map((r) => `${r.type} ${r.name}`).sort()).toEqual(monitoring(alerting).map((r) => `${r.type} ${r.name}`).sort());
  expect(big.resources).toHaveLength(alerting.resources.length);
});

test("snapshots: stored in the configured multi-region, labelled with the stack, kept after a production disk is deleted", async () => {
  const policy = byType(alerting, "gcp:compute/resourcePolicy:ResourcePolicy")[0].inputs;
  expect(dig(policy, "snapshotSchedulePolicy.snapshotProperties.storageLocations")).toBe("eu");
  expect(dig(policy, "snapshotSchedulePolicy.snapshotProperties.labels")).toEqual({ role: "maildata", "mailserver-stack": "test" });
  expect(dig(policy, "snapshotSchedulePolicy.retentionPolicy.onSourceDiskDelete")).toBe("KEEP_AUTO_SNAPSHOTS");
  const us = await runProgram(stackConfig({ "mailserver:snapshotLocation": "us" }));
  expect(dig(byType(us, "gcp:compute/resourcePolicy:ResourcePolicy")[0].inputs, "snapshotSchedulePolicy.snapshotProperties.storageLocations")).toBe("us");
});

test("a test stack's snapshots expire with the retention after its disk is deleted", async () => {
  const config = stackConfig({
    "mailserver:domain": "pr-9.test.example.com", "mailserver:extraDomains": [{ name: "pr-9.test.example.org", zoneId: "zone-org" }],
    "mailserver:users": [{ address: "alice@pr-9.test.example.com", password: "pw" }], "mailserver:aliases": [],
  });
  const test = await runProgram(config, { stack: "test-pr-9" });
  expect(test.error).toBeUndefined();
  const policy = byType(test, "gcp:compute/resourcePolicy:ResourcePolicy")[0].inputs;
  expect(dig(policy, "snapshotSchedulePolicy.retentionPolicy.onSourceDiskDelete")).toBe("APPLY_RETENTION_POLICY");
  expect(dig(policy, "snapshotSchedulePolicy.snapshotProperties.labels.mailserver-stack")).toBe("test-pr-9");
});

test("dataDiskSnapshot makes the data disk from that snapshot; nothing else of the host changes", async () => {
  const plain = await runProgram(stackConfig());
  const restored = await runProgram(stackConfig({ "mailserver:dataDiskSnapshot": "mail-data-20261122" }));
  expect(restored.error).toBeUndefined();
  const disk = (r: RunResult) => r.resources.find((x) => x.name === "mail-data")!.inputs;
  expect(disk(plain).snapshot).toBeUndefined();
  expect(disk(restored)).toEqual({ ...disk(plain), snapshot: "mail-data-20261122" });
  for (const name of ["mail-ip", "mail-snapshots"]) {
    expect(restored.resources.find((x) => x.name === name)!.inputs).toEqual(plain.resources.find((x) => x.name === name)!.inputs);
  }
});
