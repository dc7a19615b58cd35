// npm run lab [-- up | down | status | preview [--config <file>] | deploy [--config <file>]]: the local lab (see "The lab" in the design notes).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { acmeDirectoryUrl, acmeDown, acmeRootPem, acmeUp } from "./acme";
import { aptProxyDown, aptProxyUp, aptProxyUrl } from "./apt-proxy";
import { caPem, ensureCa } from "./ca";
import { dnsDown, dnsUp } from "./dns";
import { DeployRun, hostnameOf, readStackConfig, releaseOf, runProgram } from "./deploy";
import { disksDown, listSnapshots, loadDisks, takeSnapshot } from "./disks";
import { loadState } from "./engine/state";
import { describeCounts, printSteps, summarize } from "./plan";
import { ensureImage, machineDown } from "./machine";
import { ensureReleaseRoot } from "./release-root";
import { DEBIAN_RELEASES, isDebianRelease } from "../components/core/release";
import { sshCommand } from "./mocks";
import { networkDown, networkUp, netnsExists } from "./network";
import { APT_PROXY_PORT, LAB, MACHINE_NAME, MAILGUN_API_PORT, METADATA_IP, METADATA_PORT, NET, RELAY_NAME, RELAY_PORT, RESOLVER_ADDRESS, p } from "./paths";
import { daemonPid, failureReport, info, ok, run, step, waitFor } from "./proc";
import { canConnect, mailgunApiUp, relayDown, relayUp } from "./relay";
import { gcpDown, gcpUp } from "./gcp";
import { tryCommands } from "./try";

/** Host tools the lab needs, and the Debian package of each. */
const TOOLS: [string, string][] = [
  ["debootstrap", "debootstrap"], ["systemd-nspawn", "systemd-container"], ["knotd", "knot"], ["pebble", "pebble"],
  ["apt-cacher-ng", "apt-cacher-ng"], ["openssl", "openssl"], ["ssh", "openssh-client"], ["losetup", "mount"],
  ["ip", "iproute2"], ["nsenter", "util-linux"], ["unbound", "unbound"], ["keymgr", "knot"], ["kdig", "knot-dnsutils"],
  // For the commands printed at the end (lab/try.ts: curl sends over SMTP and reads over IMAP).
  ["curl", "curl"],
];

async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of TOOLS) {
    if (!(await ok("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]))) missing.push(pkg);
  }
  if (missing.length === 0) return info("host packages present");
  info(`installing missing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-q"], { env });
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env });
}

function configFile(args: string[]): string {
  const i = args.indexOf("--config");
  return i >= 0 && args[i + 1] ? path.resolve(args[i + 1]) : p.stackConfig;
}

/**
 * `standard`: the stack file the lab was brought up with, which lab.json keeps naming across deploys of
 * other files (the e2e suite deploys temporary copies and goes back to it).
 */
async function doDeploy(file: string, standard = file): Promise<void> {
  const config = readStackConfig(file);
  const deployLog = path.join(p.logs, "deploy.log");
  // The record names the last deploy that completed: one that fails from here on leaves none (tests/e2e/lib/deploy.ts).
  fs.rmSync(p.lastDeploy, { force: true });
  const started = Date.now();
  const plan = await doPreview(file, config, deployLog);
  step("deploying", deployLog);
  const run = await runProgram(config, false);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const summary = summarize(run.steps, run.commands, seconds);
  fs.writeFileSync(p.lastDeploy, JSON.stringify({ configFile: file, plan: plan.steps, ...summary }, null, 2) + "\n");
  info(`done in ${seconds}s: ${describeCounts(summary.counts)}; ${summary.remoteCommands} remote command(s) run` +
    ` (output: .lab/logs/deploy.log; what ran: ${path.relative(process.cwd(), p.lastDeploy)})`);
  const outputs = run.outputs;
  const deployUser = config["mailserver:deployUser"] ?? "deploy";
  const users = JSON.parse(config["mailserver:users"] ?? "[]") as { address: string; password?: string }[];
  const ssh = sshCommand(deployUser, deployKey(outputs));
  const lab = {
    ip: String(outputs.ip ?? NET.machine),
    hostname: hostnameOf(config),
    dnsServer: { address: NET.host, port: 53 },
    resolver: RESOLVER_ADDRESS,
    users: users.filter((u) => u.password !== undefined).map((u) => ({ address: u.address, password: String(u.password) })),
    relay: { host: NET.host, name: RELAY_NAME, port: RELAY_PORT, ...relayLogin(config), spoolDir: p.relaySpool, pauseFile: p.relayPause,
      authLog: p.relayAuthLog, mailgunStore: p.mailgunStore },
    ssh,
    acmeRoot: acmeRootPem(),
    labCa: caPem(),
    hostAddress: NET.host,
    outsideAddresses: NET.outside,
    machine: MACHINE_NAME,
    configFile: standard,
    // The machine's Debian release and the unit its Postfix master runs in (tests name it in systemctl and journalctl).
    release: releaseOf(config),
    postfixUnit: DEBIAN_RELEASES[releaseOf(config)].postfixUnit,
  };
  fs.writeFileSync(p.labJson, JSON.stringify(lab, null, 2) + "\n", { mode: 0o600 });
  printUsage(lab.hostname, ssh, lab.users);
}

/**
 * The plan, like `pulumi preview`: the program diffed against the lab's state, nothing run or changed.
 * Fails after printing the plan when the engine refuses a step (protect).
 */
async function doPreview(file: string, config: Record<string, string>, log = p.logs): Promise<DeployRun> {
  const shown = path.relative(process.cwd(), file) || file;
  step(`preview: the program (index.ts) with ${shown}, diffed against ${path.relative(process.cwd(), p.engineState)}`, log);
  const plan = await runProgram(config, true);
  printSteps(plan.steps);
  if (plan.refused.length > 0) throw new Error(`the engine refuses this plan:\n${plan.refused.join("\n")}`);
  return plan;
}

/** The login the server relays with: typed in the stack file, or the Mailgun credential the deploy made (its state). */
function relayLogin(config: Record<string, string>): { username: string; password: string } {
  if (config["mailserver:mailgunApiKey"] === undefined) {
    return { username: config["mailserver:relayUsername"] ?? "", password: config["mailserver:relayPassword"] ?? "" };
  }
  const credential = loadState(p.engineState).find((r) => r.type === MAILGUN_CREDENTIAL);
  if (!credential) throw new Error(`no ${MAILGUN_CREDENTIAL} in the state after a deploy in the Mailgun API mode`);
  return { username: String(credential.outputs.login), password: String(credential.outputs.password) };
}
const MAILGUN_CREDENTIAL = "pulumi-nodejs:dynamic/mailgun:Credential";

/** The deploy key's private half, found by the program's exported secret or in the engine's state. */
function deployKey(outputs: Record<string, unknown>): string {
  const exported = outputs.deployPrivateKey;
  if (typeof exported === "string" && exported.includes("PRIVATE KEY")) return exported;
  const ed = loadState(p.engineState).find((r) => r.type === "tls:index/privateKey:PrivateKey" && r.inputs.algorithm === "ED25519");
  if (!ed) throw new Error("no deploy key found (no ED25519 tls.PrivateKey in the state)");
  return String(ed.outputs.privateKeyOpenssh);
}

function printUsage(hostname: string, ssh: string, users: { address: string; password: string }[]): void {
  step("the lab mail server is up");
  info(`server:   ${hostname} at ${NET.machine} (IMAPS 993, POP3S 995, submission 587/465, SMTP 25)`);
  info(`DNS:      dig @${NET.host} ${hostname}`);
  info(`relay:    messages sent out land in ${p.relaySpool}`);
  info(`TLS root: ${acmeRootPem()} (pebble; verify with openssl s_client -CAfile)`);
  info(`ssh:      ${ssh}`);
  info(`details:  ${p.labJson}; tests: npm run test:e2e; remove: npm run lab -- down`);
  const [from, to] = users;
  if (!from || !to) return;
  const commands = tryCommands({ hostname, ip: NET.machine, caFile: acmeRootPem(), from, to });
  step("try it");
  info("send a message (submission on 587, STARTTLS, login, the certificate checked against the lab's ACME root):");
  info(`  ${commands.send}`);
  info("read the newest message in the recipient's INBOX (IMAPS 993):");
  info(`  ${commands.read}`);
  info("check the whole server from outside and inside:");
  info(`  ${commands.status}`);
}

async function up(args: string[]): Promise<void> {
  const file = configFile(args);
  const config = readStackConfig(file);
  step("host packages", "/var/log/apt/term.log");
  await ensurePackages();
  fs.mkdirSync(LAB, { recursive: true, mode: 0o700 });
  step(`lab network: namespace ${NET.netns}, host ${NET.host}, machine ${NET.machine}`);
  await networkUp();
  await ensureCa();
  step(`DNS stand-in: knotd on ${NET.host}:53`, path.join(p.logs, "knot.log"));
  await dnsUp();
  step(`apt proxy: apt-cacher-ng on ${NET.host}`, path.join(p.logs, "apt-cacher-ng.log"));
  await aptProxyUp();
  const release = releaseOf(config);
  step(`Debian ${release} image (mailserver:image ${config["mailserver:image"] ?? "default"}${process.env.LAB_IMAGE ? ", from LAB_IMAGE" : ""})`);
  await ensureImage(release);
  step(`Mailgun stand-ins: API on ${NET.host}:${MAILGUN_API_PORT}, relay ${RELAY_NAME}:${RELAY_PORT} (STARTTLS + AUTH with the API's credentials)`,
    path.join(p.logs, "relay.log"));
  await mailgunApiUp(config);
  await relayUp(config);
  step(`ACME stand-in: pebble at ${acmeDirectoryUrl}`, path.join(p.logs, "pebble.log"));
  await acmeUp();
  step(`Google Cloud stand-ins for the VM: metadata server (${METADATA_IP} → ${NET.host}:${METADATA_PORT}), Secret Manager (${NET.host}:443)`, path.join(p.logs, "gcp.log"));
  await gcpUp();
  await doDeploy(file);
}

async function down(): Promise<void> {
  step("stopping the lab machine");
  await machineDown();
  step("stopping the stand-ins");
  await relayDown();
  await gcpDown();
  await acmeDown();
  await dnsDown();
  await aptProxyDown();
  step("removing the data disks, the network and .lab");
  await disksDown();
  await networkDown();
  fs.rmSync(LAB, { recursive: true, force: true });
  info("done (the Debian image cache in /var/cache/mailserver-lab stays)");
}

async function status(): Promise<void> {
  for (const d of ["machine", "knot", "unbound", "relay", "mailgun-api", "gcp", "pebble", "apt-cacher-ng"]) {
    const pid = daemonPid(d);
    info(`${d.padEnd(14)} ${pid === undefined ? "not running" : `running (pid ${pid})`}`);
  }
  info(`${"network".padEnd(14)} ${netnsExists() ? `namespace ${NET.netns}` : "absent"}`);
  info(`${"ssh".padEnd(14)} ${(await canConnect(NET.machine, 22)) ? `answers on ${NET.machine}:22` : "not answering"}`);
  for (const d of Object.values(loadDisks())) info(`${"disk".padEnd(14)} ${d.name}: ${d.image} on ${d.loop}`);
  info(`${"lab.json".padEnd(14)} ${fs.existsSync(p.labJson) ? p.labJson : "absent (run npm run lab)"}`);
}

async function redeploy(args: string[]): Promise<void> {
  if (!netnsExists() || daemonPid("knot") === undefined) throw new Error("the lab is not up: run npm run lab first");
  const file = configFile(args);
  const config = readStackConfig(file);
  await mailgunApiUp();
  await relayUp(config);
  // Idempotent: a lab brought up by an older version gets what it lacks (the metadata DNAT, Google's zones).
  await networkUp();
  await dnsUp();
  await gcpUp();
  const standard = fs.existsSync(p.labJson) ? (JSON.parse(fs.readFileSync(p.labJson, "utf8")) as { configFile?: string }).configFile : undefined;
  await doDeploy(file, standard ?? file);
}

/**
 * The snapshot schedule firing now: `snapshot [--name <name>]` copies the deployed data disk and prints the
 * snapshot's name (what mailserver:dataDiskSnapshot takes); `snapshot --list` prints the names, oldest first.
 */
async function snapshot(args: string[]): Promise<void> {
  if (args[0] === "--list") {
    for (const name of listSnapshots()) process.stdout.write(`${name}\n`);
    return;
  }
  const disk = loadState(p.engineState).find((r) => r.type === "gcp:compute/disk:Disk");
  if (!disk) throw new Error("no data disk in .lab/state.json: deploy the lab first");
  const i = args.indexOf("--name");
  const name = i >= 0 ? args[i + 1] : `${String(disk.outputs.name)}-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
  // The machine shares this kernel: one sync writes its page cache to the loop image (crash-consistent, as GCE).
  await run("sync", []);
  process.stdout.write(`${await takeSnapshot(String(disk.outputs.name), name)}\n`);
}

/**
 * `release-root 13 [--wait-for-proxy]`: the daemons tier's cached Debian 13 root (lab/release-root.ts), made now if
 * missing. Through the lab's apt proxy when the lab is up: the same packages are then cached for the lab machine's
 * image and provisioning on that release. `--wait-for-proxy` waits for the proxy of a lab that is coming up (it
 * starts in lab up's first seconds): .ci/run makes the root beside lab up, before the suite moves that lab to 13.
 */
async function releaseRoot(args: string[]): Promise<void> {
  const release = Number(args[0]);
  if (!isDebianRelease(release)) throw new Error(`release-root takes a Debian release we support (${Object.keys(DEBIAN_RELEASES).join(" or ")}), not ${args[0] ?? "nothing"}`);
  if (args.includes("--wait-for-proxy")) await waitFor(`the lab's apt proxy on ${NET.host}:${APT_PROXY_PORT}`, () => canConnect(NET.host, APT_PROXY_PORT), 120_000);
  const proxy = (await canConnect(NET.host, APT_PROXY_PORT)) ? aptProxyUrl : undefined;
  process.stdout.write(`${await ensureReleaseRoot(release, proxy)}\n`);
}

/** The commands that run the program, which calls the Mailgun API stand-in over HTTPS. */
const RUNS_PROGRAM = ["up", "deploy", "preview"];

/**
 * Runs this command again in a process that trusts the lab CA, and returns its exit code; undefined when this process
 * already does. The program (checkMailgunAccess) and the dynamic providers call the Mailgun API stand-in, whose
 * certificate the lab CA signed. Node reads NODE_EXTRA_CA_CERTS once, at start, and adds it to the public roots: the way
 * `pulumi up` is given a private CA, inherited by the program and the provider plugin alike. So the lab engine verifies
 * that certificate exactly as production verifies Mailgun's, and production code has no lab switch.
 */
async function underLabCa(): Promise<number | undefined> {
  if (process.env.NODE_EXTRA_CA_CERTS === caPem()) return undefined;
  await ensureCa();
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)],
    { stdio: "inherit", env: { ...process.env, NODE_EXTRA_CA_CERTS: caPem() } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, forward);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    // A child killed by a signal exits as a shell reports it: 128 + the signal's number.
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, loop devices, systemd-nspawn)");
  const [cmd = "up", ...args] = process.argv.slice(2);
  if (RUNS_PROGRAM.includes(cmd)) {
    const code = await underLabCa();
    if (code !== undefined) process.exit(code);
  }
  switch (cmd) {
    case "up": return up(args);
    case "down": return down();
    case "status": return status();
    case "deploy": return redeploy(args);
    case "preview": return void (await doPreview(configFile(args), readStackConfig(configFile(args))));
    case "snapshot": return snapshot(args);
    case "release-root": return releaseRoot(args);
    default: throw new Error(`unknown command ${cmd}: use up, down, status, preview [--config <file>], deploy [--config <file>], snapshot [--name <name> | --list] or release-root <12|13> [--wait-for-proxy]`);
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`lab: ${failureReport(e)}\n`);
  process.exit(1);
});
