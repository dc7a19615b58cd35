#!/bin/bash
# mailserver-apply [RELAY_SECRET_VERSION]: stdin lists the configuration files ("path service rebuild" per
# line). The relay password is read now, from the Secret Manager version named (mailserver-secret), into the
# placeholder of the staged sasl_passwd: no deploy input carries it. Checks the staged versions together
# with the rest of the live configuration, and only if Postfix, Dovecot, OpenDKIM, rspamd, Pigeonhole
# (sievec), nginx, fail2ban and policyd-rate-limit accept them installs the changed files (write beside, then
# rename), rebuilds maps, removes the files that the previous apply installed and this list no longer holds
# (a dropped domain's DKIM key), and reloads the daemons whose files changed. On a failed check the live files stay as they were.
set -euo pipefail
umask 022
STAGED=/var/lib/mailserver/staged
CAND=/var/lib/mailserver/candidate
# What the last successful apply installed: the files to remove when they leave the list.
INSTALLED=/var/lib/mailserver/installed.manifest
mapfile -t entries

declare -A listed=()
for entry in "${entries[@]}"; do read -r path _ <<<"$entry"; if [ -n "$path" ]; then listed[$path]=1; fi; done
pruned=()
if [ -f "$INSTALLED" ]; then
  while read -r path service rebuild; do
    if [ -n "$path" ] && [ -z "${listed[$path]:-}" ]; then pruned+=("$path $service $rebuild"); fi
  done < "$INSTALLED"
fi

# A candidate tree: the live configuration with the staged files laid over it.
rm -rf "$CAND"
mkdir -p "$CAND/etc"
for d in /etc/postfix /etc/dovecot /etc/opendkim /etc/rspamd /etc/fail2ban; do [ -d "$d" ] && cp -a "$d" "$CAND/etc/"; done
for entry in "${entries[@]}"; do
  read -r path _ <<<"$entry"
  [ -f "$STAGED$path" ] || { echo "not staged: $path" >&2; exit 1; }
  mkdir -p "$CAND$(dirname "$path")"
  cp "$STAGED$path" "$CAND$path"
done
# sasl_passwd's placeholder becomes the password: lines end with ":PLACEHOLDER", and only that suffix is cut
# (no pattern replacement, which would treat & or \ in the password specially).
PLACEHOLDER='@RELAY_PASSWORD_PLACEHOLDER@'
if [ -n "${1:-}" ] && [ -f "$CAND/etc/postfix/sasl_passwd" ] && grep -qF ":$PLACEHOLDER" "$CAND/etc/postfix/sasl_passwd"; then
  password=$(/usr/local/sbin/mailserver-secret "$1") || { echo "could not read the relay password from Secret Manager ($1)" >&2; exit 1; }
  filled=()
  while IFS= read -r line; do
    if [[ $line == *":$PLACEHOLDER" ]]; then line="${line%"$PLACEHOLDER"}$password"; fi
    filled+=("$line")
  done < "$CAND/etc/postfix/sasl_passwd"
  (umask 077; printf '%s\n' "${filled[@]}" > "$CAND/etc/postfix/sasl_passwd")
  unset password filled
fi
# The checks must pass without the files about to be removed.
for entry in "${pruned[@]}"; do
  read -r path _ <<<"$entry"
  rm -f "$CAND$path" "$CAND$path.db"
done

fail() { echo "configuration refused, live files unchanged: $1" >&2; cat "$CAND/check.log" >&2; exit 1; }
# Postfix: syntax of main.cf/master.cf, without warnings. Checked with the candidate's directory.
for flag in -n -M; do
  if ! postconf -c "$CAND/etc/postfix" "$flag" >/dev/null 2>"$CAND/check.log" || grep -q . "$CAND/check.log"; then
    fail "postconf $flag"
  fi
done
doveconf -n -c "$CAND/etc/dovecot/dovecot.conf" >/dev/null 2>"$CAND/check.log" || fail "doveconf -n"
if [ -f "$CAND/etc/opendkim.conf" ]; then
  # Point the candidate's tables at the candidate, so that new tables are what gets checked.
  sed "s#/etc/opendkim/#$CAND/etc/opendkim/#g" "$CAND/etc/opendkim.conf" > "$CAND/opendkim-check.conf"
  opendkim -n -x "$CAND/opendkim-check.conf" >"$CAND/check.log" 2>&1 || fail "opendkim -n"
fi
if [ -f "$CAND/etc/rspamd/rspamd.conf" ]; then
  # Debian's rspamd.conf includes $CONFDIR and $LOCAL_CONFDIR files: point both at the candidate.
  rspamadm --var="CONFDIR=$CAND/etc/rspamd" --var="LOCAL_CONFDIR=$CAND/etc/rspamd" \
    configtest -c "$CAND/etc/rspamd/rspamd.conf" >"$CAND/check.log" 2>&1 || fail "rspamadm configtest"
fi
# nginx.conf is the whole web configuration (it includes nothing), so the candidate alone is what is checked.
if [ -f "$CAND/etc/nginx/nginx.conf" ]; then
  nginx -t -q -c "$CAND/etc/nginx/nginx.conf" >"$CAND/check.log" 2>&1 || fail "nginx -t"
fi
if [ -d "$CAND/etc/fail2ban" ]; then
  # fail2ban's own test of the whole candidate directory (jails, filters, actions).
  fail2ban-client -c "$CAND/etc/fail2ban" --test >"$CAND/check.log" 2>&1 || fail "fail2ban-client --test"
fi
if [ -f "$CAND/etc/policyd-rate-limit.yaml" ]; then
  # It has no test mode: its own loader reads the file (as the daemon does at start), and every limit must be
  # [count, seconds]. (Its command line, run as root, would also create its runtime directories.) Debian's
  # python3, where the package lives.
  /usr/bin/python3 - "$CAND/etc/policyd-rate-limit.yaml" >"$CAND/check.log" 2>&1 <<'PY' || fail "policyd-rate-limit's configuration"
import sys
from policyd_rate_limit.utils import config
config.setup(sys.argv[1])
if config.config_file is None:
    sys.exit("unreadable: " + sys.argv[1])
for limits in [config.limits, *config.limits_by_id.values()]:
    if not all(len(l) == 2 and all(isinstance(n, int) and n > 0 for n in l) for l in limits):
        sys.exit("a limit is not [count, seconds]: %r" % (limits,))
PY
fi
for entry in "${entries[@]}"; do
  read -r path _ rebuild <<<"$entry"
  if [ "$rebuild" = sievec ]; then
    sievec -c "$CAND/etc/dovecot/dovecot.conf" "$CAND$path" "$CAND/check.svbin" >"$CAND/check.log" 2>&1 || fail "sievec $path"
  fi
done

# Install what changed.
declare -A reload=()
restart_opendkim=
rebuilds=()
for entry in "${entries[@]}"; do
  read -r path service rebuild <<<"$entry"
  read -r mode owner group < "$STAGED$path.meta"
  if [ -f "$path" ] && cmp -s "$CAND$path" "$path" && [ "$(stat -c '%a %U %G' "$path")" = "${mode#0} $owner $group" ]; then
    if [ "$rebuild" = postmap ] && [ ! -f "$path.db" ]; then rebuilds+=("postmap $path"); reload[$service]=1; fi
    if [ "$rebuild" = sievec ] && [ ! -f "${path%.sieve}.svbin" ]; then rebuilds+=("sievec $path"); fi
    continue
  fi
  mkdir -p "$(dirname "$path")"
  install -m "$mode" -o "$owner" -g "$group" "$CAND$path" "$path.mailserver-new"
  mv -f "$path.mailserver-new" "$path"
  echo "installed $path"
  [ "$service" != none ] && reload[$service]=1
  # OpenDKIM's reload re-reads keys and tables but keeps its socket: a new opendkim.conf needs a restart.
  [ "$path" = /etc/opendkim.conf ] && restart_opendkim=1
  case "$rebuild" in
    postmap) rebuilds+=("postmap $path") ;;
    newaliases) rebuilds+=("newaliases") ;;
    sievec) rebuilds+=("sievec $path") ;;
  esac
done
for r in "${rebuilds[@]}"; do
  case "$r" in
    newaliases) newaliases ;;
    # Compiled beside the script, readable by vmail, which could not write it under /etc itself. With the
    # new dovecot.conf: without -c, sievec asks the running Dovecot, which has not reloaded yet.
    sievec\ *) sievec -c /etc/dovecot/dovecot.conf "${r#sievec }" ;;
    *) postmap "${r#postmap }" ;;
  esac
  # postmap keeps the source's mode on the .db; secrets stay 0600.
done
for entry in "${pruned[@]}"; do
  read -r path service rebuild <<<"$entry"
  rm -f "$path" "$STAGED$path" "$STAGED$path.meta"
  if [ "$rebuild" = postmap ]; then rm -f "$path.db"; fi
  if [ "$rebuild" = sievec ]; then rm -f "${path%.sieve}.svbin"; fi
  # A dropped domain's key directory goes with its last key.
  if [ -d "$(dirname "$path")" ]; then rmdir --ignore-fail-on-non-empty "$(dirname "$path")"; fi
  echo "removed $path"
  if [ "$service" != none ]; then reload[$service]=1; fi
done
printf '%s\n' "${entries[@]}" > "$INSTALLED.new"
mv -f "$INSTALLED.new" "$INSTALLED"

# Reload what changed; start what is not running (first deploy, or after a failed start).
# The milters and Dovecot first: Postfix hands mail to them; nginx serves on its own.
# policyd-rate-limit before Postfix, which asks it; fail2ban last, when the daemons whose logs it reads run.
# Dovecot listens in Postfix's queue (private/auth, private/dovecot-lmtp, private/quota-status): Debian 13's package
# leaves the queue directories to Postfix's first start (its spool holds only dev/), which comes after Dovecot's.
# postfix(1): check "create[s] missing directories".
[ -d /var/spool/postfix/private ] || postfix check
milters_started=
for service in opendkim rspamd policyd-rate-limit dovecot postfix nginx fail2ban; do
  if ! systemctl is-active --quiet "$service"; then
    systemctl start "$service" && echo "started $service"
    case "$service" in opendkim|rspamd) milters_started=1 ;; esac
  elif [ "$service" = opendkim ] && [ -n "$restart_opendkim" ]; then
    systemctl restart opendkim && echo "restarted opendkim (new socket settings)"
    milters_started=1
  elif [ "$service" = policyd-rate-limit ] && [ -n "${reload[$service]:-}" ]; then
    # It reads its file only at start (its counts stay in its database).
    systemctl restart "$service" && echo "restarted $service"
  elif [ "$service" = rspamd ] && [ -n "${reload[$service]:-}" ]; then
    # rspamd's reload returns at once, and its old workers go on scanning with the old configuration until
    # the new ones are up (seconds later): the apply ends only when every old worker has gone.
    old_workers=$(pgrep -P "$(systemctl show -p MainPID --value rspamd)" || true)
    systemctl reload rspamd && echo "reloaded rspamd"
    for _ in $(seq 240); do
      alive=
      for pid in $old_workers; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
      [ -n "$alive" ] || break
      sleep 0.5
    done
    if [ -n "$alive" ]; then echo "rspamd's old workers still run 2 minutes after its reload" >&2; exit 1; fi
  elif [ -n "${reload[$service]:-}" ]; then
    systemctl reload "$service" && echo "reloaded $service"
  fi
done
# Postfix answers 4xx while a milter does not listen, and rspamd takes a while on its first start (it
# compiles its rules): after starting one, the apply ends when both answer, so that a finished deploy serves mail.
[ -z "$milters_started" ] || for port in 8891 11332; do
  for _ in $(seq 240); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue 2; fi
    sleep 0.5
  done
  echo "the milter on 127.0.0.1:$port does not answer after 2 minutes: Postfix defers mail until it does" >&2
  exit 1
done
rm -rf "$CAND"
[ ${#reload[@]} -gt 0 ] || echo "apply: no change"
