#!/bin/bash
# mailserver-secret NAME: prints the payload of the Secret Manager version NAME
# (projects/P/secrets/S/versions/V), read with the VM's own service account: a token from the metadata
# server, then AccessSecretVersion. Neither the token nor the payload is ever on a command line: the
# Authorization header reaches curl as its config on stdin.
set -euo pipefail
name=$1
[[ $name =~ ^projects/[^/]+/secrets/[^/]+/versions/[^/]+$ ]] || { echo "not a secret version name: $name" >&2; exit 2; }
token=$(curl -sS --fail --retry 5 --retry-connrefused --max-time 20 -H 'Metadata-Flavor: Google' \
  http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token | jq -er .access_token)
printf 'header = "Authorization: Bearer %s"\n' "$token" |
  curl -sS --fail --retry 5 --max-time 20 -K - "https://secretmanager.googleapis.com/v1/$name:access" |
  jq -er .payload.data | base64 -d
