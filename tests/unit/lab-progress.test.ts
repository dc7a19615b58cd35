// npm run lab names the phase a failure happened in and the log to read (issue 22, first run feedback).
import { join } from "node:path";
import { failureReport, step } from "../../lab/proc";
import { p } from "../../lab/paths";

test("a failure names its phase and that phase's log; before any phase, just the message", () => {
  expect(failureReport(new Error("boom"))).toBe("boom");
  const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  step("DNS stand-in: knotd", join(p.logs, "knot.log"));
  expect(String(write.mock.calls[0][0])).toMatch(/^==> \[ *\d+\.\ds\] DNS stand-in: knotd\n$/);
  write.mockRestore();
  expect(failureReport(new Error("knotd exited 1"))).toMatch(
    /^failed at \d+\.\ds in the phase "DNS stand-in: knotd": knotd exited 1\n {4}read .*\.lab\/logs\/knot\.log$/);
});
