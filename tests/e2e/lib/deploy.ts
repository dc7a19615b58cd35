// Re-deploys the lab (`npm run lab -- deploy`) and reads the machine's state that a deploy must not disturb.
import { join } from "node:path";
import { Lab, ROOT } from "./lab";
import { onMachineOk } from "./machine";
import { run } from "./run";

export function labConfigFile(lab: Lab): string {
  return lab.configFile ?? join(ROOT, "Pulumi.lab.yaml");
}

export async function deployLab(configFile: string): Promise<void> {
  const r = await run("npm", ["run", "lab", "--", "deploy", "--config", configFile], { cwd: ROOT, timeoutMs: 30 * 60_000 });
  if (r.code !== 0) throw new Error(`npm run lab -- deploy failed (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-4000)}`);
}

/**
 * Daemon identities (master pids, unit main pids and start times) and every config file's hash, mode
 * and owner: two snapshots are equal only if nothing was restarted and no file changed.
 */
export async function machineState(lab: Lab): Promise<Record<string, string>> {
  const out = await onMachineOk(lab, `
    echo "pid postfix-master $(tr -d ' \\n' < /var/spool/postfix/pid/master.pid)"
    echo "pid dovecot-master $(tr -d ' \\n' < /run/dovecot/master.pid)"
    for u in postfix@- dovecot opendkim; do
      echo "unit $u $(systemctl show -p MainPID --value "$u") $(systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"
    done
    find /etc/postfix /etc/dovecot /etc/opendkim* -xdev -type f -print0 | sort -z | while IFS= read -r -d '' f; do
      echo "file $f $(stat -c '%a %U:%G' "$f") $(sha256sum < "$f" | cut -d' ' -f1)"
    done
  `);
  const state: Record<string, string> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [kind, name, ...rest] = line.split(" ");
    state[`${kind} ${name}`] = rest.join(" ");
  }
  return state;
}

/** The data disk's filesystem UUID, probed on the device itself, and what /srv/mail is mounted from. */
export async function dataDisk(lab: Lab): Promise<{ uuid: string; source: string }> {
  const out = await onMachineOk(lab, `
    blkid -p -s UUID -o value /dev/disk/by-id/google-maildata
    findmnt -no SOURCE --target /srv/mail
  `);
  const [uuid = "", source = ""] = out.trim().split("\n").map((l) => l.trim());
  return { uuid, source };
}
