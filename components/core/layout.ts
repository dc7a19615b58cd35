// The server's file-system layout: one place for what the host, the provisioning script and the daemons'
// configuration must agree on.

/** Device name of the attached data disk; GCE shows it as /dev/disk/by-id/google-<name>. */
export const DATA_DISK_DEVICE = "maildata";
export const DATA_DEVICE = `/dev/disk/by-id/google-${DATA_DISK_DEVICE}`;
/** Where the data disk is mounted, and the mailboxes below it (<domain>/<local part>/Maildir). */
export const DATA_MOUNT = "/srv/mail";
export const MAIL_HOME = `${DATA_MOUNT}/vmail`;
/** uid and gid of the vmail user that owns every mailbox. */
export const VMAIL_ID = 5000;
/** Stable certificate paths; provisioning links them to the ACME or the self-signed certificate. */
export const TLS_DIR = "/etc/mailserver/tls";
export const TLS_CERT = `${TLS_DIR}/fullchain.pem`;
export const TLS_KEY = `${TLS_DIR}/privkey.pem`;

/**
 * What the staged sasl_passwd holds where the relay password goes: mailserver-apply replaces it with the
 * payload of the Secret Manager version it is given, so no deploy input carries the password.
 */
export const RELAY_PASSWORD_PLACEHOLDER = "@mailserver-relay-password@";
