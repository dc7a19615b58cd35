#!/bin/bash
# mailserver-stage PATH MODE OWNER GROUP: stages stdin as the next version of PATH; the apply step checks
# and installs it. Prints the content's sha256 (so that the apply step re-runs when a file changes).
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
sha256sum < "$staged" | cut -d' ' -f1
