// The accounts the VM has or will have besides the deploy user. The GCE guest agent gives the user named in
// the ssh-keys metadata (mailserver:deployUser) the deploy key and passwordless sudo: naming one of these
// would hand that power to a daemon's account (a bug in nginx running as www-data becomes root).
// tests/daemons/accounts.test.ts checks the list against the system accounts of a Debian 12 with our packages.

/** Debian 12's base-passwd (/usr/share/base-passwd/passwd.master), older releases' gnats included. */
const BASE = ["root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
  "backup", "list", "irc", "gnats", "nobody", "_apt"];
/** The GCE Debian 12 image: systemd, D-Bus, OpenSSH, chrony and the guest environment's packages. */
const IMAGE = ["systemd-network", "systemd-timesync", "systemd-resolve", "systemd-coredump", "messagebus", "polkitd", "sshd",
  "_chrony", "tss", "uuidd", "tcpdump", "dnsmasq", "avahi", "statd", "_rpc"];
/** What provisioning installs (components/core/provision.ts packagesFor) and creates (vmail). */
const DAEMONS = ["postfix", "dovecot", "dovenull", "vmail", "opendkim", "_rspamd", "redis", "policyd-rate-limit"];
/** Other Debian daemons' accounts (the test machines' DNS, ACME and apt stand-ins; likely next packages). */
const OTHERS = ["unbound", "knot", "apt-cacher-ng", "postgres", "debian-spamd", "clamav"];

export const SYSTEM_ACCOUNTS: ReadonlySet<string> = new Set([...BASE, ...IMAGE, ...DAEMONS, ...OTHERS]);

/** Debian names new system accounts with a leading _ (_apt, _rspamd, _chrony): none of them is a person. */
export const isSystemAccount = (name: string): boolean => SYSTEM_ACCOUNTS.has(name) || name.startsWith("_");
