#!/bin/bash
# The server's TLS key and certificate. The key comes from the stack (its DANE TLSA record is published from
# it before it serves, components/core/dane.ts); this script only gets certificates for it:
#   mailserver-tls install <key name>   the key on stdin becomes the serving key (the deploy runs this)
#   mailserver-tls renew [--force]      a new certificate for the serving key when it is due (the timer runs this)
# Every certificate is requested for the same key (certbot --csr with a CSR made from it, or self-signed), so
# a renewal never changes the key and the TLSA record stays true. The daemons read TLS_CERT and TLS_KEY,
# links through $TLS_DIR/live to keys/<name>/, which is switched in one rename: they never see a key with
# another key's certificate.
set -euo pipefail
umask 077
# TLS_MODE, CERT_NAMES, ACME_SERVER, ACME_EMAIL, TLS_DIR, TLS_CERT, TLS_KEY: written by the provisioning.
# shellcheck source=/dev/null
. /etc/mailserver/tls.conf
KEYS="$TLS_DIR/keys"
LIVE="$TLS_DIR/live"
RENEW_DAYS=30

# What a certificate must have been made for: a switch of mode or of ACME directory asks for a new one.
source_of_config() { if [ "$TLS_MODE" = acme ]; then echo "acme $ACME_SERVER"; else echo "$TLS_MODE"; fi; }

spki() { openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }

# due DIR: succeeds when DIR has no usable certificate for its key, names and source, or it expires soon.
due() {
  local dir=$1 cert=$1/fullchain.pem names
  [ -s "$cert" ] || return 0
  [ "$(openssl x509 -noout -pubkey -in "$cert" | spki)" = "$(openssl pkey -in "$dir/privkey.pem" -pubout | spki)" ] || return 0
  names=$(openssl x509 -noout -ext subjectAltName -in "$cert" | grep -o 'DNS:[^, ]*' | cut -c5- | sort -u | tr '\n' ' ')
  [ "$names" = "$(printf '%s\n' "${CERT_NAMES[@]}" | sort -u | tr '\n' ' ')" ] || return 0
  [ "$(cat "$dir/source" 2>/dev/null)" = "$(source_of_config)" ] || return 0
  ! openssl x509 -noout -checkend $((RENEW_DAYS * 86400)) -in "$cert" >/dev/null
}

# obtain DIR: a new certificate for DIR's key, installed beside it in one rename.
obtain() {
  local dir=$1 tmp san subj
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" RETURN
  san=$(printf 'DNS:%s,' "${CERT_NAMES[@]}"); san=${san%,}
  # A CN holds at most 64 characters (RFC 5280 ub-common-name) and openssl refuses a longer one; the names are
  # in the SAN, which is what clients check: a longer hostname gets an empty subject.
  subj="/CN=${CERT_NAMES[0]}"; [ "${#CERT_NAMES[0]}" -le 64 ] || subj="/"
  if [ "$TLS_MODE" = acme ]; then
    openssl req -new -key "$dir/privkey.pem" -subj "$subj" -addext "subjectAltName=$san" -out "$tmp/csr.pem"
    # --csr: the certificate is for our key; certbot keeps no lineage, so renewals come from this script.
    certbot certonly --standalone --non-interactive --agree-tos --no-eff-email --quiet \
      --server="$ACME_SERVER" --email="$ACME_EMAIL" --preferred-challenges http --csr "$tmp/csr.pem" \
      --cert-path "$tmp/cert.pem" --chain-path "$tmp/chain.pem" --fullchain-path "$tmp/fullchain.pem"
  else
    openssl req -x509 -key "$dir/privkey.pem" -days 825 -subj "$subj" -addext "subjectAltName=$san" \
      -out "$tmp/fullchain.pem" 2>/dev/null
  fi
  install -m 0644 "$tmp/fullchain.pem" "$dir/fullchain.pem.new" && mv -f "$dir/fullchain.pem.new" "$dir/fullchain.pem"
  source_of_config > "$dir/source"
  echo "tls: new certificate for key $(basename "$dir"): $(openssl x509 -noout -serial -enddate -in "$dir/fullchain.pem" | tr '\n' ' ')"
}

# link NAME TARGET: NAME becomes a symlink to TARGET in one rename (it may be a file or an older link).
link() { ln -sfn "$2" "$1.new" && mv -fT "$1.new" "$1"; }

# The daemons hold the certificate they read at start; a new one reaches them on reload. try-reload-or-restart
# leaves a daemon that is not running (first deploy: the apply starts it) alone.
reload_if_new() {
  local fingerprint
  fingerprint=$(openssl x509 -noout -fingerprint -sha256 -in "$TLS_CERT")
  if [ "$fingerprint" != "$(cat /var/lib/mailserver/tls.fingerprint 2>/dev/null)" ]; then
    install -d -m 0700 /var/lib/mailserver
    echo "$fingerprint" > /var/lib/mailserver/tls.fingerprint
    systemctl try-reload-or-restart postfix dovecot nginx
    echo "tls: postfix, dovecot and nginx reloaded"
  fi
}

install_key() {
  local name=$1 dir tmp
  [[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || { echo "mailserver-tls: bad key name $name" >&2; exit 2; }
  dir="$KEYS/$name"
  install -d -m 0700 "$KEYS" "$dir"
  tmp=$(mktemp "$dir/privkey.XXXXXX")
  cat > "$tmp"
  openssl pkey -in "$tmp" -noout || { rm -f "$tmp"; echo "mailserver-tls: stdin is not a private key" >&2; exit 2; }
  if cmp -s "$tmp" "$dir/privkey.pem"; then rm -f "$tmp"; else mv -f "$tmp" "$dir/privkey.pem"; rm -f "$dir/fullchain.pem"; fi
  if due "$dir"; then obtain "$dir"; fi
  [ "$(readlink "$LIVE" 2>/dev/null)" = "keys/$name" ] || { link "$LIVE" "keys/$name"; echo "tls: key $name serves"; }
  [ "$(readlink "$TLS_CERT")" = live/fullchain.pem ] || link "$TLS_CERT" live/fullchain.pem
  [ "$(readlink "$TLS_KEY")" = live/privkey.pem ] || link "$TLS_KEY" live/privkey.pem
  reload_if_new
  # Keys that no longer serve (a finished rollover) go once the new one does.
  local old
  for old in "$KEYS"/*; do
    [ "$old" = "$dir" ] || { rm -rf "$old"; echo "tls: removed the old key $(basename "$old")"; }
  done
  # A server deployed before the key came from the stack has a certbot lineage that certbot.timer renews;
  # nothing reads it any more.
  if [ -e "/etc/letsencrypt/renewal/${CERT_NAMES[0]}.conf" ]; then
    certbot delete --non-interactive --cert-name "${CERT_NAMES[0]}" && echo "tls: removed the old certbot lineage"
  fi
  rm -f /etc/letsencrypt/renewal-hooks/deploy/mailserver-reload
}

renew() {
  local dir
  dir="$TLS_DIR/$(readlink "$LIVE")"
  [ -s "$dir/privkey.pem" ] || { echo "mailserver-tls: no serving key yet (the deploy installs it)" >&2; exit 1; }
  if [ "${1:-}" = --force ] || due "$dir"; then obtain "$dir"; fi
  reload_if_new
}

case "${1:-}" in
  install) install_key "${2:?key name}" ;;
  renew) renew "${2:-}" ;;
  *) echo "usage: mailserver-tls install <key name> < key.pem | mailserver-tls renew [--force]" >&2; exit 2 ;;
esac
