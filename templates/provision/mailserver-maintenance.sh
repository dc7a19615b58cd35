#!/bin/bash
# mailserver-maintenance: reboots the server when an installed update requires it and the clock is inside the
# maintenance window; mailserver-maintenance.timer runs it every 5 minutes.
#   mailserver-maintenance                          reboot now if /run/reboot-required and now (UTC) is in the window
#   mailserver-maintenance in-window WINDOW [HH:MM]  exit 0 if HH:MM (default: now, UTC) is inside WINDOW
# The flag is written by the kernel packages' hook (/etc/kernel/postinst.d/unattended-upgrades) and lives in
# /run, so a reboot clears it. The reboot is systemd's ordinary one: Postfix stops cleanly and its queue stays
# on the data disk, and senders retry while the server is away. The window (MAINTENANCE_WINDOW, "HH:MM-HH:MM",
# may span midnight) comes from /etc/mailserver/maintenance.conf, written by the provisioning.
set -euo pipefail
export LC_ALL=C
FLAG=/run/reboot-required

minutes() { echo $((10#${1%:*} * 60 + 10#${1#*:})); }

# in_window WINDOW HH:MM
in_window() {
  [[ $1 =~ ^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || { echo "not a window: $1 (HH:MM-HH:MM)" >&2; exit 2; }
  [[ $2 =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || { echo "not a time: $2 (HH:MM)" >&2; exit 2; }
  local start end now
  start=$(minutes "${1%-*}") end=$(minutes "${1#*-}") now=$(minutes "$2")
  [ "$start" -ne "$end" ] || { echo "an empty window: $1" >&2; exit 2; }
  if [ "$start" -lt "$end" ]; then [ "$now" -ge "$start" ] && [ "$now" -lt "$end" ]
  else [ "$now" -ge "$start" ] || [ "$now" -lt "$end" ]
  fi
}

case ${1:-} in
  in-window)
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo "usage: mailserver-maintenance in-window HH:MM-HH:MM [HH:MM]" >&2; exit 2; fi
    in_window "$2" "${3:-$(date -u +%H:%M)}"
    exit ;;
  "") ;;
  *) echo "usage: mailserver-maintenance [in-window HH:MM-HH:MM [HH:MM]]" >&2; exit 2 ;;
esac

# shellcheck source=/dev/null
. /etc/mailserver/maintenance.conf
: "${MAINTENANCE_WINDOW:?}"
[ -e "$FLAG" ] || { echo "no reboot required"; exit 0; }
required_by=$(paste -sd ' ' "$FLAG.pkgs" 2>/dev/null || true)
now=$(date -u +%H:%M)
if ! in_window "$MAINTENANCE_WINDOW" "$now"; then
  echo "reboot required (${required_by:-no package named}); waiting for the maintenance window $MAINTENANCE_WINDOW UTC (now $now)"
  exit 0
fi
# Not in the middle of an upgrade: dpkg would be left half-configured.
for unit in apt-daily-upgrade.service apt-daily.service unattended-upgrades.service; do
  if [ "$(systemctl is-active "$unit" || true)" = activating ]; then
    echo "reboot required, but $unit is running; trying again at the next timer run"
    exit 0
  fi
done
echo "reboot required (${required_by:-no package named}); rebooting in the maintenance window $MAINTENANCE_WINDOW UTC (now $now)"
systemctl reboot
