/** End-to-end tier: real clients against the lab (`npm run lab`). One worker, files in name order: 07 and 08 redeploy and reboot. */
module.exports = {
  displayName: "e2e",
  preset: "ts-jest",
  testEnvironment: "node",
  testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
  globalSetup: "<rootDir>/tests/e2e/global-setup.ts",
  globalTeardown: "<rootDir>/tests/e2e/global-teardown.ts",
  testSequencer: "<rootDir>/tests/e2e/sequencer.js",
  maxWorkers: 1,
  testTimeout: 300000,
};
