#!/bin/bash
# mailserver-selfcheck [--json] [--mail]: the server's own view of its health, one line per check,
# "ok|warning|error <check-id> <message with the fix>". Run as root. --json prints the same as a JSON list;
# --mail also mails the lines to the admin (ALERT_EMAIL) through Postfix, so through the relay, when any check
# is not ok (mailserver-selfcheck.timer runs it daily). Exit status 1 when a check is an error.
# The values it needs come from /etc/mailserver/selfcheck.conf, written by the provisioning script.
set -euo pipefail
export LC_ALL=C
CONF=/etc/mailserver/selfcheck.conf
# shellcheck source=/dev/null
. "$CONF"
: "${ALERT_EMAIL:?} ${HOSTNAME_FQDN:?} ${DATA_MOUNT:?} ${TLS_CERT:?} ${TLS_MODE:?} ${RELAY_HOST:?} ${RELAY_PORT:?}"

json=false mail=false
for arg in "$@"; do
  case $arg in
    --json) json=true ;;
    --mail) mail=true ;;
    *) echo "usage: mailserver-selfcheck [--json] [--mail]" >&2; exit 2 ;;
  esac
done

# Thresholds. Disks: Postfix defers and Dovecot refuses when the data disk is full. Certificates: mailserver-tls
# renews 30 days ahead, so 14 days left means renewal has failed for two weeks. Queue: mail deferred for a
# day is mail the relay or the recipient keeps refusing.
DISK_WARN=80 DISK_ERROR=90
CERT_WARN_DAYS=14 CERT_ERROR_DAYS=3
QUEUE_WARN=100 QUEUE_ERROR=1000
DEFERRED_WARN_S=3600 DEFERRED_ERROR_S=86400
# Updates: unattended-upgrades installs security updates daily, and the maintenance window comes daily, so a
# security update still pending, or a reboot still required, a day later is one that is not happening.
UPDATE_WARN_S=86400
# When this server first saw each pending security update ("epoch package version" lines).
PENDING_SEEN=/var/lib/mailserver/security-pending

results=()
report() { results+=("$1 $2 $3"); }

check_daemons() {
  local unit name
  for unit in "${SELFCHECK_UNITS[@]}"; do
    # The unit the Postfix master runs in: Debian 12's postfix@- (its postfix.service is a oneshot that stays
    # "active"), Debian 13's postfix.
    name=$unit; [ "$unit" = postfix ] && name=@POSTFIX_UNIT@
    if systemctl is-active --quiet "$name"; then
      report ok "daemon:$unit" "$name is active"
    else
      report error "daemon:$unit" "$name is $(systemctl is-active "$name" || true) — see journalctl -u $name, then systemctl restart $name"
    fi
  done
}

check_queue() {
  local queue size oldest age
  if ! queue=$(postqueue -j 2>/dev/null); then
    report error queue "postqueue -j failed (is Postfix running?) — see journalctl -u @POSTFIX_UNIT@"
    return
  fi
  size=$(jq -s 'length' <<<"$queue")
  oldest=$(jq -s '[.[] | select(.queue_name == "deferred") | .arrival_time] | min // empty' <<<"$queue")
  age=0; [ -n "$oldest" ] && age=$(( $(date +%s) - oldest ))
  local what="$size message(s) queued"
  [ -n "$oldest" ] && what="$what, oldest deferred $((age / 60)) min ago"
  local fix="see postqueue -p and journalctl -u @POSTFIX_UNIT@ for the reason (relay down or refusing?), then postqueue -f"
  if [ "$size" -ge "$QUEUE_ERROR" ] || [ "$age" -ge "$DEFERRED_ERROR_S" ]; then report error queue "$what — $fix"
  elif [ "$size" -ge "$QUEUE_WARN" ] || [ "$age" -ge "$DEFERRED_WARN_S" ]; then report warning queue "$what — $fix"
  else report ok queue "$what"
  fi
}

# check_disk ID MOUNTPOINT WHAT
check_disk() {
  local id=$1 mount=$2 what=$3 used
  # An unmounted data disk would show the boot disk's usage under its mount point.
  if ! mountpoint -q "$mount" || ! used=$(df -P "$mount" 2>/dev/null | awk 'NR == 2 { sub("%", "", $5); print $5 }') || [ -z "$used" ]; then
    report error "$id" "$mount is not mounted — see the provisioning log (mount $mount)"
    return
  fi
  local fix="free space or grow the $what (mailserver:${id/disk:/}DiskSizeGb, then pulumi up)"
  if [ "$used" -ge "$DISK_ERROR" ]; then report error "$id" "$mount is ${used}% full — $fix"
  elif [ "$used" -ge "$DISK_WARN" ]; then report warning "$id" "$mount is ${used}% full — $fix"
  else report ok "$id" "$mount is ${used}% full"
  fi
}

check_certificate() {
  local end days
  if ! end=$(openssl x509 -noout -enddate -in "$TLS_CERT" 2>/dev/null); then
    report error tls-certificate "no readable certificate at $TLS_CERT — run the provisioning again (pulumi up)"
    return
  fi
  days=$(( ($(date -d "${end#notAfter=}" +%s) - $(date +%s)) / 86400 ))
  # mailserver-tls renews (same key, either mode) from mailserver-tls-renew.timer.
  local fix="see journalctl -u mailserver-tls-renew, then mailserver-tls renew"
  if ! openssl x509 -noout -checkhost "$HOSTNAME_FQDN" -in "$TLS_CERT" | grep -q ' does match '; then
    report error tls-certificate "the certificate is not for $HOSTNAME_FQDN — $fix"
  elif [ "$days" -lt "$CERT_ERROR_DAYS" ]; then report error tls-certificate "the certificate expires in $days day(s) — $fix"
  elif [ "$days" -lt "$CERT_WARN_DAYS" ]; then report warning tls-certificate "the certificate expires in $days day(s) — $fix"
  else report ok tls-certificate "valid for $days more days"
  fi
}

check_renewal() {
  # mailserver-tls-renew.timer starts the renewal twice a day (ACME or self-signed, the key stays); a failed
  # renewal leaves the service failed.
  if systemctl is-failed --quiet mailserver-tls-renew.service; then
    report error tls-renewal "the last certificate renewal failed — see journalctl -u mailserver-tls-renew, fix it, then mailserver-tls renew"
  elif ! systemctl is-enabled --quiet mailserver-tls-renew.timer; then
    report error tls-renewal "mailserver-tls-renew.timer is not enabled, nothing renews the certificate — systemctl enable --now mailserver-tls-renew.timer"
  else
    report ok tls-renewal "mailserver-tls-renew.timer enabled, last renewal did not fail"
  fi
}

check_relay() {
  local greeting
  # The relay's greeting proves that the route and its port are open (GCE blocks only port 25 outbound).
  # The inner bash expands $0 and $1 (the host and port), under timeout's limit for the connect too.
  # shellcheck disable=SC2016
  if greeting=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r line <&3 && printf %s "$line"' "$RELAY_HOST" "$RELAY_PORT" 2>/dev/null) &&
    [[ $greeting == 220* ]]; then
    report ok relay "$RELAY_HOST:$RELAY_PORT answers"
  else
    report error relay "$RELAY_HOST:$RELAY_PORT does not answer with 220 — outbound mail waits in the queue; check mailserver:relayHost/relayPort and the relay's status"
  fi
}

check_update_timers() {
  local timer off=()
  for timer in apt-daily.timer apt-daily-upgrade.timer mailserver-maintenance.timer; do
    if ! systemctl is-enabled --quiet "$timer" || ! systemctl is-active --quiet "$timer"; then off+=("$timer"); fi
  done
  if [ ${#off[@]} -gt 0 ]; then
    report error updates "${off[*]} not enabled and running: security updates or the reboots they need do not happen — systemctl enable --now ${off[*]} (pulumi up does it too)"
  elif [ "$(apt-config shell v APT::Periodic::Unattended-Upgrade | tr -dc 0-9)" != 1 ]; then
    report error updates "APT::Periodic::Unattended-Upgrade is not 1: unattended-upgrades installs nothing — see apt-config dump | grep Periodic; pulumi up restores /etc/apt/apt.conf.d/52mailserver-unattended-upgrades"
  else
    report ok updates "unattended-upgrades and the maintenance reboot are scheduled"
  fi
}

check_security_updates() {
  local sim now pending=() line pkg version seen oldest
  # What apt would install from the security archive, by the package lists of the last apt update (apt-daily.timer).
  if ! sim=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>&1); then
    report error security-updates "apt-get -s dist-upgrade failed: ${sim##*$'\n'} — run it to see why (dpkg interrupted? try dpkg --configure -a)"
    return
  fi
  now=$(date +%s)
  # Each pending update keeps the time it was first seen, so its age survives between runs.
  while read -r pkg version; do
    seen=$(awk -v p="$pkg" -v v="$version" '$2 == p && $3 == v { print $1; exit }' "$PENDING_SEEN" 2>/dev/null || true)
    pending+=("${seen:-$now} $pkg $version")
  done < <(awk '$1 == "Inst" && /Debian-Security:/ { v = $0; sub(/.*\(/, "", v); sub(/ .*/, "", v); print $2, v }' <<<"$sim")
  if [ ${#pending[@]} -eq 0 ]; then
    rm -f "$PENDING_SEEN"
    report ok security-updates "no security update pending"
    return
  fi
  printf '%s\n' "${pending[@]}" > "$PENDING_SEEN.new" && mv -f "$PENDING_SEEN.new" "$PENDING_SEEN"
  oldest=$(printf '%s\n' "${pending[@]}" | sort -n | head -n1 | cut -d' ' -f1)
  local names what
  names=$(printf '%s\n' "${pending[@]}" | cut -d' ' -f2 | sort | tr '\n' ' ')
  what="${#pending[@]} security update(s) pending (${names% }), the oldest seen $(( (now - oldest) / 3600 )) h ago"
  if [ $((now - oldest)) -ge "$UPDATE_WARN_S" ]; then
    report warning security-updates "$what — unattended-upgrades did not install them: see /var/log/unattended-upgrades/unattended-upgrades.log, or run unattended-upgrade -d"
  else
    report ok security-updates "$what; unattended-upgrades installs them at its next daily run"
  fi
}

check_reboot() {
  local flag=/run/reboot-required window=unknown by age
  # MAINTENANCE_WINDOW, written by the provisioning.
  # shellcheck source=/dev/null
  if [ -r /etc/mailserver/maintenance.conf ]; then . /etc/mailserver/maintenance.conf; window="${MAINTENANCE_WINDOW:-unknown}"; fi
  if [ ! -e "$flag" ]; then
    report ok reboot "no reboot required"
    return
  fi
  by=$(paste -sd ' ' "$flag.pkgs" 2>/dev/null || true)
  age=$(( $(date +%s) - $(stat -c %Y "$flag") ))
  local what="reboot required for ${by:-an installed update} since $((age / 3600)) h"
  if [ "$age" -ge "$UPDATE_WARN_S" ]; then
    report warning reboot "$what — the maintenance window ($window UTC) has not rebooted the server: see journalctl -u mailserver-maintenance, or reboot now (systemctl reboot; mail waits in the senders' queues)"
  else
    report ok reboot "$what; the server reboots in the maintenance window ($window UTC)"
  fi
}

check_daemons
check_queue
check_disk disk:data "$DATA_MOUNT" "data disk"
check_disk disk:boot / "boot disk"
check_certificate
check_renewal
check_relay
check_update_timers
check_security_updates
check_reboot

if $json; then
  printf '%s\n' "${results[@]}" | jq -R -s 'split("\n") | map(select(length > 0)
    | capture("^(?<status>[a-z]+) (?<id>[^ ]+) (?<message>.*)$"))'
else
  printf '%s\n' "${results[@]}"
fi

failed=() errors=0
for line in "${results[@]}"; do
  [[ $line == ok\ * ]] || failed+=("$line")
  [[ $line == error\ * ]] && errors=$((errors + 1))
done
if $mail && [ ${#failed[@]} -gt 0 ]; then
  # Through Postfix (sendmail -t: the recipient comes from To:, never from a command-line word), so the mail
  # is signed and leaves through the relay like any other.
  {
    printf 'From: mailserver self-check <root@%s>\n' "$HOSTNAME_FQDN"
    printf 'To: %s\n' "$ALERT_EMAIL"
    printf 'Subject: [%s] self-check: %d problem(s)\n' "$HOSTNAME_FQDN" "${#failed[@]}"
    printf 'Auto-Submitted: auto-generated\n'
    printf 'Content-Type: text/plain; charset=utf-8\n\n'
    printf 'mailserver-selfcheck on %s found:\n\n' "$HOSTNAME_FQDN"
    printf '%s\n' "${failed[@]}"
    printf '\nAll checks:\n\n'
    printf '%s\n' "${results[@]}"
  } | /usr/sbin/sendmail -t -f "root@$HOSTNAME_FQDN"
fi
[ "$errors" -eq 0 ]
