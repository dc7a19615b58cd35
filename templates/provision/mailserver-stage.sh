#!/bin/bash
# mailserver-stage PATH MODE OWNER GROUP: stages stdin as the next version of PATH; the apply step checks
# and installs it. Prints "PATH SHA256 MODE OWNER GROUP": the apply step re-runs when that line changes, so
# it must cover everything the apply installs (a mode-only change included).
set -euo pipefail
umask 077
path=$1 mode=$2 owner=$3 group=$4
case "$path" in /*) ;; *) echo "not an absolute path: $path" >&2; exit 2 ;; esac
staged=/var/lib/mailserver/staged$path
mkdir -p "$(dirname "$staged")"
tmp=$(mktemp "$staged.XXXXXX")
cat > "$tmp"
mv -f "$tmp" "$staged"
printf '%s %s %s\n' "$mode" "$owner" "$group" > "$staged.meta"
printf '%s %s %s %s %s\n' "$path" "$(sha256sum < "$staged" | cut -d' ' -f1)" "$mode" "$owner" "$group"
