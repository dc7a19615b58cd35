// The two mail flows: submission (587, STARTTLS + AUTH, OpenDKIM signs) and port 25 from outside without
// TLS (OpenDKIM verifies, rspamd judges), the ceiling the same machine reaches in the same run.
import { CLIENT_NAME, OUTSIDE_DOMAINS } from "../../lab/paths";
import { Lab, LabUser, labCa } from "../../tests/e2e/lib/lab";
import { countMessageFiles, deliveries, maildir, queuedCount, waitForFiles } from "./delivery";
import { LoadPlan, runLoad } from "./mail-load";
import { FlowResult, summarizeFlow } from "./summary";

export const CONNECTIONS = 4;

/** About 2 KB of plain text: a short letter, not an empty probe. */
const BODY = Array.from({ length: 30 }, (_, i) => `Line ${String(i + 1).padStart(2, "0")} of a benchmark letter, ` +
  "plain text of an ordinary length.").join("\r\n") + "\r\n";

export function benchMessage(from: string, to: string, tag: string, index: number): string {
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: ${tag} ${index}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${tag}.${index}@${CLIENT_NAME}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    BODY,
  ].join("\r\n");
}

export function submissionPlan(lab: Lab, sender: LabUser, recipient: string, messages: number, tag: string): LoadPlan {
  return {
    messages,
    connections: CONNECTIONS,
    options: {
      host: lab.ip, port: 587, secure: false, requireTLS: true, name: CLIENT_NAME,
      tls: { ca: labCa(lab), servername: lab.hostname, rejectUnauthorized: true },
      connectionTimeout: 15_000, greetingTimeout: 15_000,
    },
    auth: { user: sender.address, pass: sender.password },
    envelope: { from: sender.address, to: recipient },
    message: (i) => benchMessage(sender.address, recipient, tag, i),
  };
}

/** From the host side of the lab network, as the Internet reaches the MX; a sender whose SPF allows it. */
export function plainPlan(lab: Lab, recipient: string, messages: number, tag: string): LoadPlan {
  const from = `bench@${OUTSIDE_DOMAINS.genuine}`;
  return {
    messages,
    connections: CONNECTIONS,
    options: {
      host: lab.ip, port: 25, secure: false, ignoreTLS: true, name: CLIENT_NAME, localAddress: lab.hostAddress,
      connectionTimeout: 15_000, greetingTimeout: 15_000,
    },
    envelope: { from, to: recipient },
    message: (i) => benchMessage(from, recipient, tag, i),
  };
}

/** Sends the plan's messages, waits for them in the recipient's Maildir and sums the flow up. */
export async function runFlow(lab: Lab, label: string, tag: string, plan: LoadPlan): Promise<FlowResult> {
  const dir = await maildir(lab, plan.envelope.to);
  const baseline = await countMessageFiles(lab, dir);
  const submissions = await runLoad(plan);
  await waitForFiles(lab, dir, baseline, submissions.filter((s) => s.accepted).length);
  const delivered = await deliveries(lab, dir, tag);
  return summarizeFlow(label, plan.connections, submissions, delivered, await queuedCount(lab));
}
