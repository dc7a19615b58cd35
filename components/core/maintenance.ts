// The maintenance window: when the VM may reboot by itself to finish a security update (a new kernel or
// libc). Written "HH:MM-HH:MM" in the VM's clock, UTC; it may span midnight ("23:30-00:30").
export const DEFAULT_MAINTENANCE_WINDOW = "03:00-04:00";

const WINDOW = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Why a window cannot be used, with the fix, or undefined. */
export function maintenanceWindowProblem(window: string): string | undefined {
  const m = WINDOW.exec(window);
  if (!m) return `is not a window like ${DEFAULT_MAINTENANCE_WINDOW} — write start-end as HH:MM-HH:MM (24-hour clock, UTC, the VM's time zone)`;
  if (m[1] === m[3] && m[2] === m[4]) return "starts and ends at the same minute, so the server could never reboot to finish an update — give it at least a few minutes, e.g. 03:00-04:00";
  return undefined;
}
