// What the renderer produces and the push step installs: one file on the server.

/** The daemon that must reload when the file changes ("none": nothing to reload). */
export type Service = "postfix" | "dovecot" | "opendkim" | "rspamd" | "nginx" | "fail2ban" | "policyd-rate-limit" | "none";

export interface RenderedFile {
  /** Absolute target path on the server, e.g. /etc/postfix/main.cf. */
  path: string;
  /** Octal mode as text, e.g. "0644". */
  mode: string;
  owner: string;
  group: string;
  content: string;
  /** True when the content holds a secret (keys, password hashes, relay password): sent only as a Pulumi secret. */
  secret: boolean;
  /** Which daemon reads it. */
  service: Service;
  /**
   * Rebuild step after install: `postmap <path>` for a Postfix lookup table, `newaliases` for /etc/aliases,
   * `sievec <path>` for a global sieve script (vmail cannot write its compiled form under /etc).
   */
  rebuild?: "postmap" | "newaliases" | "sievec";
}
