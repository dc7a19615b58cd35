// Issue 21 §5: the maintenance window — the config key and the reboot script's decision, on the same windows.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import { renderProvisionScript } from "../../components/core/provision";
import { MINIMAL_RAW, problems } from "../fixtures/config";

const SCRIPT = join(__dirname, "..", "..", "templates", "provision", "mailserver-maintenance.sh");
const inWindow = (window: string, now: string) => spawnSync("bash", [SCRIPT, "in-window", window, now], { encoding: "utf8" });

test("maintenanceWindow: a night hour by default; as configured, trimmed", () => {
  expect(parseConfig(MINIMAL_RAW).maintenanceWindow).toBe("03:00-04:00");
  expect(parseConfig({ ...MINIMAL_RAW, "mailserver:maintenanceWindow": " 23:30-00:30 " }).maintenanceWindow).toBe("23:30-00:30");
});

test.each(["3:00-4:00", "03:00–04:00", "24:00-01:00", "03:60-04:00", "03:00", "night"])("maintenanceWindow %j is refused, naming the key and the format", (w) => {
  expect(problems({ "mailserver:maintenanceWindow": w })).toEqual([
    "mailserver:maintenanceWindow: is not a window like 03:00-04:00 — write start-end as HH:MM-HH:MM (24-hour clock, UTC, the VM's time zone)"]);
});

test("maintenanceWindow: an empty window is refused", () => {
  expect(problems({ "mailserver:maintenanceWindow": "03:00-03:00" })).toEqual([
    "mailserver:maintenanceWindow: starts and ends at the same minute, so the server could never reboot to finish an update — give it at least a few minutes, e.g. 03:00-04:00"]);
});

test.each([
  ["03:00-04:00", "03:00", 0], ["03:00-04:00", "03:59", 0], ["03:00-04:00", "04:00", 1], ["03:00-04:00", "02:59", 1],
  ["23:30-00:30", "23:30", 0], ["23:30-00:30", "00:10", 0], ["23:30-00:30", "00:30", 1], ["23:30-00:30", "12:00", 1],
  ["00:00-23:59", "23:58", 0], ["00:00-23:59", "23:59", 1],
])("mailserver-maintenance in-window %s at %s exits %i (0: inside, may reboot)", (window, now, code) => {
  const r = inWindow(window, now);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(code);
});

test("mailserver-maintenance refuses a window or time it cannot read (exit 2), never guessing inside", () => {
  expect(inWindow("03:00-03:00", "03:00").status).toBe(2);
  expect(inWindow("3:00-04:00", "03:30").status).toBe(2);
  expect(inWindow("03:00-04:00", "3:30").status).toBe(2);
});

test("the provisioning script carries the window, quoted, into /etc/mailserver/maintenance.conf", () => {
  const script = renderProvisionScript(parseConfig({ ...MINIMAL_RAW, "mailserver:maintenanceWindow": "01:15-02:45" }));
  expect(script).toContain("MAINTENANCE_WINDOW='01:15-02:45'\n");
  expect(script).toContain("put_file /etc/mailserver/maintenance.conf 0644");
  expect(script).toContain("put_file /usr/local/sbin/mailserver-maintenance 0755");
});
