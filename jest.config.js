/** Test tiers (see README): unit and stack need only node; daemons need the Debian packages that .ci/run installs. */
const tier = (name) => ({
  displayName: name,
  preset: "ts-jest",
  testEnvironment: "node",
  testMatch: [`<rootDir>/tests/${name}/**/*.test.ts`],
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
});
module.exports = {
  projects: [tier("unit"), tier("stack"), tier("daemons")],
  testTimeout: 60000,
};
