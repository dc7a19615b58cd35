// Runs the e2e files in name order (01 … 08): redeploy and reboot must come after the mail they check.
const Sequencer = require("@jest/test-sequencer").default;

class ByName extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
}
module.exports = ByName;
