// npm run bench [-- --messages N] [--json] [--skip-cold]: measures the lab (LAB_INSTANCE honoured) in one
// run and prints one table (scripts/bench/report.ts): deploys, the two mail flows, IMAP fetch. A script,
// not a test: nothing here asserts a time. It expunges the messages it delivered before it ends.
import { INSTANCE } from "../lab/paths";
import { labUser, loadLab } from "../tests/e2e/lib/lab";
import { SUBJECT_PREFIX, expungeBenchMail } from "./bench/delivery";
import { coldDeploy, ensureLabUp, noOpDeploy, oneSettingChange } from "./bench/deploys";
import { plainPlan, runFlow, submissionPlan } from "./bench/flows";
import { imapFetchAll } from "./bench/imap-fetch";
import { hostInfo, loadAverage } from "./bench/machine-info";
import { parseBenchArgs, UsageError } from "./bench/options";
import { BenchResult, formatTable } from "./bench/report";

const SENDER = "alice@example.test";
const SUBMISSION_RECIPIENT = "bob@example.test";
const PLAIN_RECIPIENT = "carol@example2.test";

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  const run = `${SUBJECT_PREFIX}${Date.now().toString(36)}`;
  const loadBefore = loadAverage();
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");

  let cold;
  if (options.skipCold) {
    if (await ensureLabUp()) progress("the lab was not up: brought it up with npm run lab (not timed)");
  } else {
    progress("cold deploy: lab down, then lab up, then the first mail (minutes)");
    cold = await coldDeploy(`${run}-cold 0`);
  }
  const lab = loadLab();
  const mailboxes = [SUBMISSION_RECIPIENT, PLAIN_RECIPIENT];
  // Leftovers of an interrupted run would be counted as this run's files.
  await expungeBenchMail(lab, mailboxes);
  try {
    progress("no-op redeploy");
    const noOp = await noOpDeploy(lab);
    progress("one-setting change and back");
    const oneSetting = await oneSettingChange(lab);
    progress(`${options.messages} messages on 587 (STARTTLS + AUTH)`);
    const submissionTag = `${run}-587`;
    const submission = await runFlow(lab, "587", submissionTag,
      submissionPlan(lab, labUser(lab, SENDER), SUBMISSION_RECIPIENT, options.messages, submissionTag));
    progress(`${options.messages} messages on 25 (no TLS)`);
    const plainTag = `${run}-25`;
    const plain = await runFlow(lab, "25", plainTag, plainPlan(lab, PLAIN_RECIPIENT, options.messages, plainTag));
    progress("IMAP fetch");
    const imapFetch = await imapFetchAll(lab, labUser(lab, SUBMISSION_RECIPIENT), submissionTag);
    const result: BenchResult = {
      date, labInstance: INSTANCE, messages: options.messages, host: await hostInfo(),
      loadBefore, loadAfter: loadAverage(), cold, noOp, oneSetting, submission, plain, imapFetch,
    };
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatTable(result));
  } finally {
    progress("expunging the benchmark's messages");
    await expungeBenchMail(lab, mailboxes);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
