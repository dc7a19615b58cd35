// A root filesystem of a Debian release with the daemons the VM installs, made by the lab's own debootstrap
// (lab/image.ts) and cached under /var/cache/mailserver-lab: the daemons tier checks the rendered files with
// that release's binaries, not only with the host's (tests/daemons/trixie.test.ts). `npm run lab --
// release-root 13` makes it ahead of the tests (CI does, so that its minutes show as a step of their own).
import { packagesFor } from "../components/core/provision";
import type { DebianRelease } from "../components/core/release";
import { ensureImage, type ImageSpec } from "./image";

/** What the checks themselves run besides the daemons: a throwaway certificate and `ip` for loopback. */
const CHECKERS = ["openssl", "iproute2"];

export const releaseRootSpec = (release: DebianRelease, proxy?: string): ImageSpec => ({
  release,
  proxy,
  include: [],
  // Certbot too (mailserver:tls acme, the default): its version and defaults are checked.
  install: [...packagesFor({ tls: "acme" }), ...CHECKERS],
  format: "dir",
});

/** The cached tree (read-only: checks run on an overlay of it); made on first use, a few minutes, through `proxy` if given. */
export const ensureReleaseRoot = (release: DebianRelease, proxy?: string): Promise<string> => ensureImage(releaseRootSpec(release, proxy));
