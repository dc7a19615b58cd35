#!/bin/bash
# mailserver-unstage PATH: the file left the configuration (e.g. a domain was dropped): remove it.
set -euo pipefail
path=$1
case "$path" in /*) ;; *) echo "not an absolute path: $path" >&2; exit 2 ;; esac
rm -f "/var/lib/mailserver/staged$path" "/var/lib/mailserver/staged$path.meta" "$path" "$path.db"
