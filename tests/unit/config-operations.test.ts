// Operations keys (issue 14): alerting address, snapshot location, restore from a snapshot, and the queue's
// free-space reserve. One test per rule.
import { parseConfig, queueMinfreeBytes } from "../../components/core/config";
import { MINIMAL_RAW, problems } from "../fixtures/config";

test("defaults: no alerting, no restore, snapshots in the multi-region of the VM's region", () => {
  const c = parseConfig(MINIMAL_RAW);
  expect(c.alertEmail).toBeUndefined();
  expect(c.dataDiskSnapshot).toBeUndefined();
  expect(c.gcp.region).toBe("europe-west1");
  expect(c.snapshotLocation).toBe("eu");
});

test.each([
  ["us-central1-a", "us"], ["northamerica-northeast1-b", "us"], ["southamerica-east1-c", "us"],
  ["europe-north1-a", "eu"], ["asia-northeast1-b", "asia"], ["me-west1-a", "me-west1"], ["australia-southeast1-a", "australia-southeast1"],
])("the snapshot location of zone %s is %s", (zone, location) => {
  expect(parseConfig({ ...MINIMAL_RAW, "gcp:zone": zone }).snapshotLocation).toBe(location);
});

test("snapshotLocation: a multi-region or a region, as configured", () => {
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:snapshotLocation": "us" }).snapshotLocation).toBe("us");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:snapshotLocation": "europe-west4" }).snapshotLocation).toBe("europe-west4");
  expect(problems({ "mailserver:snapshotLocation": "EU West" })).toEqual([
    "mailserver:snapshotLocation: must be a Cloud Storage multi-region (us, eu, asia) or a region such as europe-west1"]);
});

test("dataDiskSnapshot: a snapshot name or its resource path", () => {
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:dataDiskSnapshot": "mail-data-20261122" }).dataDiskSnapshot).toBe("mail-data-20261122");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:dataDiskSnapshot": "projects/proj/global/snapshots/s1" }).dataDiskSnapshot)
    .toBe("projects/proj/global/snapshots/s1");
  expect(problems({ "mailserver:dataDiskSnapshot": "Snap 1" })).toEqual([
    "mailserver:dataDiskSnapshot: must be a snapshot name (gcloud compute snapshots list) or projects/<project>/global/snapshots/<name>"]);
});

test("queue_minfree is 4 × the message size limit, and may take at most a tenth of the data disk", () => {
  expect(queueMinfreeBytes(parseConfig(MINIMAL_RAW))).toBe(100 * 1024 * 1024);
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:messageSizeLimitMb": "512" }).messageSizeLimitMb).toBe(512);
  expect(problems({ "mailserver:messageSizeLimitMb": "513" })).toEqual([
    "mailserver:messageSizeLimitMb: 513 MB needs 2052 MB kept free on the data disk (Postfix queue_minfree), more than a tenth of it (20480 MB) — lower messageSizeLimitMb or grow mailserver:dataDiskSizeGb"]);
});
