// A rule we imitate from upstream code (the Pulumi CLI's config check, a provider's ForceNew, the engine's
// step order) is data with its source: the repository, the tag matching the version package-lock.json pins,
// the file and the line. scripts/check-upstream.ts reads each cited line from a fetched copy of the
// repository at that tag and fails when it no longer says what the rule relies on.
export interface Citation {
  /** GitHub owner/name, e.g. "pulumi/pulumi". */
  repo: string;
  /** The tag matching the pinned version, e.g. "v3.270.0". */
  tag: string;
  /** File inside the repository at that tag. */
  path: string;
  /** 1-based line the claim rests on. */
  line: number;
  /** Text that line must contain (exactly, whitespace included) for the claim to hold. */
  expect: string;
  /** What we take from it, in a sentence. */
  claim: string;
}
