// The Debian release the VM runs, read from one source: the boot image (mailserver:image). Everything that
// differs between releases (the lab's root filesystem, Dovecot's configuration language) is chosen from it.

/**
 * postfixUnit: the unit the Postfix master runs in. Debian 12 runs it as the instance postfix@- (postfix.service is
 * a oneshot that stays "active"); Debian 13 as postfix.service itself (Debian's postfix 3.9.1-7 NEWS:
 * "postfix@-.service has become postfix.service").
 *
 * sendLimitStage: where Postfix asks policyd-rate-limit, which counts what it accepts there. Debian 12's 1.0.1 looks at
 * RCPT only (policyd.py:225) and counts one per accepted recipient. Debian 13's 1.2 at RCPT (its deprecated count_mode 0)
 * deletes the counts of a transaction as soon as it refuses one of its recipients (policyd.py:349-363), so the
 * recipients it accepted before go out uncounted, again and again; so on 13 it is asked at DATA (count_mode 1), where
 * it weighs the whole message by Postfix's recipient_count (policyd.py:288-290, 328) and counts it only if it passes.
 */
export const DEBIAN_RELEASES = {
  12: { codename: "bookworm", postfix: "3.7", dovecot: "2.3", postfixUnit: "postfix@-", sendLimitStage: "RCPT" },
  13: { codename: "trixie", postfix: "3.10", dovecot: "2.4", postfixUnit: "postfix", sendLimitStage: "DATA" },
} as const;
export type DebianRelease = keyof typeof DEBIAN_RELEASES;
export type DebianCodename = (typeof DEBIAN_RELEASES)[DebianRelease]["codename"];

/** The release stacks get unless their image says otherwise. */
export const DEFAULT_RELEASE: DebianRelease = 12;

/**
 * The release of a GCE Debian image: a family (debian-cloud/debian-13, projects/debian-cloud/global/images/family/debian-13)
 * or one image of it (debian-13-trixie-v20251014). Undefined for anything else.
 */
export function debianReleaseOf(image: string): DebianRelease | undefined {
  const m = /(?:^|\/)debian-(\d+)(?:-[a-z0-9-]*)?$/.exec(image);
  const n = m ? Number(m[1]) : NaN;
  return isDebianRelease(n) ? n : undefined;
}

export const isDebianRelease = (n: number): n is DebianRelease => n in DEBIAN_RELEASES;

export const codenameOf = (release: DebianRelease): DebianCodename => DEBIAN_RELEASES[release].codename;
