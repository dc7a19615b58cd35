// Runs the e2e files in name order (01 … 08): redeploy and reboot must come after the mail they check.
// `npm run test:e2e` runs the suite in two lanes side by side, one lab each (scripts/e2e-lanes.ts): jest's --shard=1/2
// and --shard=2/2 pick them here. Lane 1's lab comes up on Debian 12 (tests/e2e/global-setup.ts) and has the move to
// 13, the files that replace or reboot the VM, and status (about as long in all); lane 2's comes up on 13 and has
// the rest. Each file brings what it
// checks (its own mail, its own deploys), so no file needs another lane's.
const path = require("node:path");
const Sequencer = require("@jest/test-sequencer").default;

const LANE_1 = [
  "00-first-run.test.ts",
  "001-debian-12-to-13.test.ts",
  "08-reboot.test.ts",
  "operations/replace-data-disk.test.ts",
  "operations/restore-and-move.test.ts",
  "operations/security-updates.test.ts",
  "operations/self-healing.test.ts",
  "operations/status.test.ts",
];

/** The lane (1 or 2) of an e2e file, by its path under tests/e2e. */
function laneOf(file) {
  return LANE_1.includes(path.relative(__dirname, file).split(path.sep).join("/")) ? 1 : 2;
}

class ByName extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    if (shardCount !== 2) throw new Error(`the e2e suite has two lanes: --shard=1/2 or --shard=2/2, not ${shardIndex}/${shardCount}`);
    return tests.filter((t) => laneOf(t.path) === shardIndex);
  }

  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}
module.exports = ByName;
module.exports.LANE_1 = LANE_1;
