// Pulumi mocks that hand every registration to the lab's engine (lab/engine), and the lab's stand-in for
// the providers: the real local equivalent of each resource's create, update and delete.
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadCloud, updateCloud } from "./cloud-store";
import { DnsRecordState, dsRecords, qualify, setSigned, ZoneWriter } from "./dns";
import { bootDiskShrinkRefusal, deleteDisk, ensureDisk, growDisk, loadDisks } from "./disks";
import { changedPaths, Diff, Inputs, UNKNOWN } from "./engine/diff";
import { dynamicCreate, dynamicDiff, dynamicUpdate, isDynamic, PROVIDER_KEY, providerOf } from "./dynamic";
import type { Dependencies } from "./dependencies";
import { Engine, keyOf, LabProvider, NO_OPTS, ResourceOpts } from "./engine/engine";
import type { StoredResource } from "./engine/state";
import { generateKey } from "./keys";
import { type DebianRelease, debianReleaseOf } from "../components/core/release";
import { bootMachine, ensureUser, machineDown, machineHostKey, machineRunning, machineStop, prepareRoot } from "./machine";
import { MACHINE_NAME, NET, p } from "./paths";
import { info, run, RunResult } from "./proc";
import { HOST_KEY_ATTRIBUTE } from "../components/host";
import { Connection, runRemote, sshArgs } from "./ssh";

const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const INSTANCE = "gcp:compute/instance:Instance";
const ZONE_DNSSEC = "cloudflare:index/zoneDnssec:ZoneDnssec";
const STASH = "pulumi:index:Stash";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The dotted paths of the secret values in inputs as the SDK sends them (what unwrapSecrets unwraps). */
export function secretPaths(v: unknown, at = ""): string[] {
  if (typeof v !== "object" || v === null) return [];
  const o = v as Record<string, unknown>;
  if (!Array.isArray(v) && o[SIG_KEY] === SECRET_SIG) return [at];
  return Object.entries(o).flatMap(([k, x]) => secretPaths(x, at ? `${at}.${k}` : k));
}

/** Inputs arrive with secrets wrapped; the local equivalent needs the plain values. */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

export interface LabMocksOptions {
  /** Cloudflare zone id → zone apex, from the stack config. */
  zones: Record<string, string>;
  hostname: string;
  /** A preview decides the steps and runs nothing. */
  preview: boolean;
  /** Resource options by type::name, read from the registrations (see deploy.ts). */
  options: Map<string, ResourceOpts>;
  /** The replacementTrigger option by type::name, where one is set. */
  triggers: Map<string, pulumi.Output<unknown>>;
  /** Each registration's dependencies by type::name, read off its request (lab/dependencies.ts). */
  dependencies: Map<string, Dependencies>;
}

/**
 * An Output's value, or UNKNOWN when a preview cannot know it. The SDK has resolved a resource's trigger before it
 * registers the resource (sdk/nodejs/runtime/resource.ts awaits replacementTrigger.isKnown), so this never waits.
 */
async function valueOf(o: pulumi.Output<unknown>): Promise<unknown> {
  if (!(await (o as unknown as { isKnown: Promise<boolean> }).isKnown)) return UNKNOWN;
  return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

/** One command run by a deploy: which resource, which of its commands, and where. */
export interface CommandRun { name: string; phase: "create" | "update" | "delete"; where: "remote" | "local" }

/** The SDK's mock runtime calls newResource for every registration; the engine decides what happens. */
export class LabMocks implements pulumi.runtime.Mocks {
  readonly errors: Error[] = [];
  readonly engine: Engine;
  readonly provider: LabResources;
  private pending = 0;

  constructor(private readonly opts: LabMocksOptions) {
    this.provider = new LabResources(opts);
    this.engine = new Engine(this.provider, opts.preview, p.engineState);
  }

  get busy(): boolean { return this.pending > 0; }

  /** Deletes what the program no longer registers, then writes the zones of the records that remain. */
  async finish(): Promise<void> {
    await this.engine.finish();
    // A preview's records may hold unknowns (e.g. the address of a VM still to be made): DNS is not touched.
    if (!this.opts.preview) await this.provider.publishDns(this.engine.resources());
  }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    // Components have no provider: nothing to create, diff or delete.
    if (!args.custom) return { id: undefined, state: {} };
    this.pending++;
    try {
      const inputs = unwrapSecrets(args.inputs) as Inputs;
      const opts = this.opts.options.get(keyOf(args.type, args.name)) ?? NO_OPTS;
      const trigger = this.opts.triggers.get(keyOf(args.type, args.name));
      const replacementTrigger = trigger === undefined ? undefined : await valueOf(trigger);
      const deps = this.opts.dependencies.get(keyOf(args.type, args.name));
      const r = await this.engine.register({ type: args.type, name: args.name, inputs, opts, replacementTrigger, secrets: secretPaths(args.inputs), ...deps });
      return { id: r.id, state: r.outputs };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message = `${args.type} ${args.name}: ${err.message}`;
      this.errors.push(err);
      throw err;
    } finally {
      this.pending--;
    }
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    switch (args.token) {
      case "gcp:compute/getImage:getImage":
        return { selfLink: String(args.inputs.family ?? "debian-12"), name: "debian-12" };
      case "gcp:compute/getInstanceGuestAttributes:getInstanceGuestAttributes":
        return this.provider.guestAttributes(args.inputs, this.engine.resources().find((r) => r.type === INSTANCE)?.inputs);
      default:
        return {};
    }
  }
}

/**
 * The provider's Delete refuses an instance whose state has deletion protection, as GCE would
 * (upstream/pulumi-engine.ts INSTANCE_DELETION_PROTECTION): a replacement, delete-first, stops there.
 */
export function refuseProtectedInstanceDelete(old: StoredResource): void {
  if (old.outputs.deletionProtection === true) {
    throw new Error(`Cannot delete instance ${old.name}: instance Deletion Protection is enabled ` +
      "(set deletionProtection to false and deploy before a change that deletes or replaces it)");
  }
}

/** A provider's id for a new resource: name plus random hex, as Pulumi's auto-naming and pulumi-command do. */
const newId = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

/** The local equivalent of each resource type's Create, Update and Delete. */
export class LabResources implements LabProvider {
  readonly commands: CommandRun[] = [];
  private readonly dns: ZoneWriter;
  private readonly log: fs.WriteStream;

  constructor(private readonly opts: LabMocksOptions) {
    this.dns = new ZoneWriter(Object.values(opts.zones));
    fs.mkdirSync(p.logs, { recursive: true });
    this.log = fs.createWriteStream(path.join(p.logs, "deploy.log"), { flags: "a", mode: 0o600 });
  }

  /** Exactly the records in the state (removed ones disappear). */
  publishDns(resources: StoredResource[]): Promise<void> {
    return this.dns.finish(resources.filter((r) => r.type === DNS_RECORD).map((r) => this.recordOf(r.inputs)));
  }

  /**
   * A dynamic resource's Diff is its provider's (the pulumi-nodejs plugin's diff: olds are the stored outputs; changes
   * false is no change, replaces name what replaces); what changed is listed from the inputs, `__provider` aside.
   */
  async diff(old: StoredResource, inputs: Inputs): Promise<Diff | undefined> {
    if (!isDynamic(old.type)) return undefined;
    const d = await dynamicDiff(old.id, old.outputs, inputs);
    if (d === undefined) return undefined;
    if (!d.changes) return { op: "same", changed: [], replaceBecause: [] };
    const changed = changedPaths({ ...old.inputs, [PROVIDER_KEY]: undefined }, { ...inputs, [PROVIDER_KEY]: undefined });
    return { op: d.replaces.length > 0 ? "replace" : "update", changed, replaceBecause: d.replaces };
  }

  async create(type: string, name: string, inputs: Inputs): Promise<{ id: string; outputs: Inputs }> {
    // A dynamic resource: its serialized provider runs, as the engine's pulumi-nodejs plugin runs it (lab/dynamic.ts).
    if (isDynamic(type)) return dynamicCreate(inputs);
    switch (type) {
      case "tls:index/privateKey:PrivateKey": {
        const { algorithm: _a, ...key } = generateKey(String(inputs.algorithm ?? "RSA"), Number(inputs.rsaBits ?? 2048), String(inputs.ecdsaCurve ?? "P224"));
        return { id: newId(name), outputs: { ...inputs, ...key } };
      }
      case "gcp:compute/address:Address":
        return { id: `projects/lab/regions/${String(inputs.region)}/addresses/${name}`, outputs: { ...inputs, address: NET.machine, name, selfLink: `lab/addresses/${name}` } };
      case "gcp:compute/disk:Disk": {
        const physical = newId(name);
        const disk = await ensureDisk(physical, Number(inputs.size ?? 10), inputs.snapshot === undefined ? undefined : String(inputs.snapshot));
        info(`data disk ${physical}: ${disk.image} on ${disk.loop}`);
        const id = `projects/lab/zones/${String(inputs.zone)}/disks/${physical}`;
        return { id, outputs: { ...inputs, name: physical, selfLink: id } };
      }
      case "gcp:compute/instance:Instance":
        return this.instance(name, inputs);
      case DNS_RECORD: {
        const record = this.recordOf(inputs);
        await this.dns.add(record);
        return { id: newId(name), outputs: { ...inputs, name: record.name, content: inputs.content ?? record.content, proxiable: false, zoneName: record.zone } };
      }
      case ZONE_DNSSEC:
        return { id: String(inputs.zoneId), outputs: await this.zoneDnssec(inputs) };
      // The engine's own Stash (pulumi/pulumi pkg/resource/deploy/builtins.go): Create sets output to the input.
      case STASH:
        return { id: newId(name), outputs: { input: inputs.input, output: inputs.input } };
      case "gcp:serviceaccount/account:Account":
        return { id: newId(name), outputs: { ...inputs, email: `${String(inputs.accountId)}@lab.iam.gserviceaccount.com`, name } };
      case "gcp:secretmanager/secret:Secret": {
        // id and name are both projects/{project}/secrets/{secret_id} (resource_secret_manager_secret.go).
        const id = `projects/lab/secrets/${String(inputs.secretId ?? name)}`;
        updateCloud(p.cloud, (c) => { c.secrets[id] ??= []; });
        return { id, outputs: { ...inputs, name: id } };
      }
      case "gcp:secretmanager/secretVersion:SecretVersion": {
        // Each version is numbered in turn; id and name are {secret}/versions/{n}
        // (resource_secret_manager_secret_version.go).
        const secret = String(inputs.secret);
        const c = updateCloud(p.cloud, (s) => { (s.secrets[secret] ??= []).push({ data: String(inputs.secretData ?? ""), state: "ENABLED" }); });
        const id = `${secret}/versions/${c.secrets[secret].length}`;
        return { id, outputs: { ...inputs, name: id, version: String(c.secrets[secret].length) } };
      }
      case "gcp:secretmanager/secretIamMember:SecretIamMember": {
        if (inputs.role === "roles/secretmanager.secretAccessor") {
          const id = secretName(inputs.secretId);
          updateCloud(p.cloud, (c) => { c.secretAccessors[id] = [...(c.secretAccessors[id] ?? []), String(inputs.member)]; });
        }
        return { id: newId(name), outputs: { ...inputs } };
      }
      case "command:local:Command":
      case "command:remote:Command":
        return { id: newId(name), outputs: await this.runCommand(type, name, "create", inputs, inputs.create) };
      // Cloud Monitoring has no local equivalent (nothing probes the lab from outside): the ids the program
      // wires into the alert policy, as the API makes them (projects/{p}/uptimeCheckConfigs/{id}, .../notificationChannels/{id}).
      case "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": {
        const uptimeCheckId = newId(name);
        return { id: `projects/lab/uptimeCheckConfigs/${uptimeCheckId}`, outputs: { ...inputs, uptimeCheckId, name: `projects/lab/uptimeCheckConfigs/${uptimeCheckId}` } };
      }
      case "gcp:monitoring/notificationChannel:NotificationChannel":
      case "gcp:monitoring/alertPolicy:AlertPolicy": {
        const id = `projects/lab/${type.endsWith("AlertPolicy") ? "alertPolicies" : "notificationChannels"}/${newId(name)}`;
        return { id, outputs: { ...inputs, name: id } };
      }
      default:
        return { id: newId(name), outputs: { ...inputs, name: inputs.name ?? name } };
    }
  }

  async update(old: StoredResource, inputs: Inputs, diff: Diff): Promise<Inputs> {
    if (isDynamic(old.type)) return dynamicUpdate(old.id, old.outputs, inputs);
    switch (old.type) {
      case "command:local:Command":
      case "command:remote:Command":
        return this.runCommand(old.type, old.name, "update", inputs, inputs.update ?? inputs.create);
      case "gcp:compute/disk:Disk":
        await growDisk(String(old.outputs.name), Number(inputs.size ?? 10));
        return { ...old.outputs, ...inputs };
      case "gcp:compute/instance:Instance":
        return this.updateInstance(old, inputs, diff);
      case DNS_RECORD: {
        const record = this.recordOf(inputs);
        await this.dns.add(record);
        return { ...old.outputs, ...inputs, name: record.name, content: inputs.content ?? record.content };
      }
      case ZONE_DNSSEC:
        return this.zoneDnssec(inputs);
      // Update keeps the output the Stash was created with (builtins.go).
      case STASH:
        return { input: inputs.input, output: old.outputs.output };
      default:
        return { ...old.outputs, ...inputs };
    }
  }

  async delete(old: StoredResource): Promise<void> {
    info(`delete ${old.name}`);
    if (isDynamic(old.type)) return providerOf(old.outputs).delete?.(old.id, old.outputs);
    switch (old.type) {
      case "command:local:Command":
      case "command:remote:Command":
        // pulumi-command's Delete runs `delete` if set, else nothing (remote/commandController.go).
        if (old.inputs.delete !== undefined) await this.runCommand(old.type, old.name, "delete", old.inputs, old.inputs.delete);
        return;
      case "gcp:compute/instance:Instance":
        refuseProtectedInstanceDelete(old);
        updateCloud(p.cloud, (c) => { delete c.instanceServiceAccount; delete c.guestAttributes; });
        return machineDown();
      case "gcp:compute/disk:Disk":
        return deleteDisk(String(old.outputs.name));
      case ZONE_DNSSEC:
        // DELETE /zones/{id}/dnssec: the zone is served unsigned from then on.
        setSigned(this.zoneName(String(old.inputs.zoneId)), false);
        return this.dns.sync();
      case "gcp:secretmanager/secretVersion:SecretVersion":
        // deletion_policy DELETE (the default) destroys the version: it can no longer be accessed.
        updateCloud(p.cloud, (c) => {
          const v = c.secrets[String(old.inputs.secret)]?.[Number(old.outputs.version) - 1];
          if (v) { v.state = "DESTROYED"; v.data = ""; }
        });
        return;
      case "gcp:secretmanager/secretIamMember:SecretIamMember":
        updateCloud(p.cloud, (c) => {
          const id = secretName(old.inputs.secretId);
          c.secretAccessors[id] = (c.secretAccessors[id] ?? []).filter((m) => m !== old.inputs.member);
        });
        return;
      default:
        // Cloud-side only (IAM, firewall, secrets…) or rewritten at the end (DNS zones).
        return;
    }
  }

  private async instance(name: string, inputs: Inputs): Promise<{ id: string; outputs: Inputs }> {
    // GCE refuses a second instance on the same static IP and READ_WRITE disk: a replacement made before
    // its original is deleted fails there, so it fails here (the program needs deleteBeforeReplace).
    if (machineRunning()) {
      throw new Error(`the address ${NET.machine} and the data disk are in use by the running instance: GCE refuses a second one ` +
        "(a replacement needs deleteBeforeReplace; after a lab without state, run npm run lab -- down first)");
    }
    await prepareRoot(this.opts.hostname, bootRelease(inputs));
    await this.metadataUsers(inputs);
    this.serviceAccount(inputs);
    info(`booting the lab machine ${MACHINE_NAME} (${NET.machine})`);
    await bootMachine(this.attachedDisks(inputs));
    // google-guest-agent publishes the host keys as guest attributes on the first boot, where they are enabled.
    const key = machineHostKey();
    const enabled = ((inputs.metadata ?? {}) as Record<string, string>)["enable-guest-attributes"] === "TRUE";
    updateCloud(p.cloud, (c) => { c.guestAttributes = enabled && key ? { [HOST_KEY_ATTRIBUTE]: key } : {}; });
    const id = `projects/lab/zones/${String(inputs.zone)}/instances/${newId(name)}`;
    const nic = ((inputs.networkInterfaces ?? []) as Inputs[])[0] ?? {};
    return {
      id,
      outputs: {
        ...inputs,
        name,
        instanceId: String(Date.now()),
        selfLink: id,
        // As GCE reports it: the interface and access config as asked, with the addresses it assigned (the
        // engine diffs a bridged resource's next inputs against these outputs).
        networkInterfaces: [{ ...nic, networkIp: NET.machine,
          accessConfigs: [{ ...(((nic.accessConfigs ?? []) as Inputs[])[0] ?? {}), natIp: NET.machine }] }],
      },
    };
  }

  /**
   * In place: metadata (the guest agent adds users); what GCE changes only on a stopped VM (machine type, service
   * account, shielded config: allow_stopping_for_update) stops it, then starts it. A new attached disk GCE would
   * detach and attach on the running VM (terraform-provider-google google/services/compute/resource_compute_instance.go,
   * resourceComputeInstanceUpdate: detachDisk/attachDisk, not in needToStopInstanceBeforeUpdating), pulling the device
   * from under whatever uses it; a loop device stays readable through a mount made before, so the lab cannot show
   * that and refuses instead. The program replaces the VM for a new disk (components/host.ts).
   */
  private async updateInstance(old: StoredResource, inputs: Inputs, diff: Diff): Promise<Inputs> {
    const shrink = bootDiskShrinkRefusal(old.outputs, inputs);
    if (shrink) throw new Error(shrink);
    await this.metadataUsers(inputs);
    this.serviceAccount(inputs);
    const needsStop = ["machineType", "serviceAccount", "shieldedInstanceConfig"];
    if (diff.changed.some((c) => needsStop.some((s) => c === s || c.startsWith(`${s}.`)))) {
      info(`stopping and starting the lab machine for: ${diff.changed.join(", ")}`);
      await machineStop();
      await bootMachine(this.attachedDisks(inputs));
    }
    if (diff.changed.some((c) => c.startsWith("attachedDisks."))) {
      throw new Error("attachedDisks changed in place: GCE would detach the disk from the running VM under the daemons that use it; " +
        "the lab does not imitate that (replace the VM: replaceOnChanges attachedDisks)");
    }
    return { ...old.outputs, ...inputs, networkInterfaces: old.outputs.networkInterfaces };
  }

  /** The account whose tokens the metadata server hands the VM (lab/gcp-server.ts). */
  private serviceAccount(inputs: Inputs): void {
    const email = ((inputs.serviceAccount ?? {}) as { email?: string }).email;
    updateCloud(p.cloud, (c) => { c.instanceServiceAccount = email; });
  }

  private async metadataUsers(inputs: Inputs): Promise<void> {
    const metadata = (inputs.metadata ?? {}) as Record<string, string>;
    for (const line of String(metadata["ssh-keys"] ?? "").split("\n").filter((l) => l.includes(":"))) {
      await ensureUser(line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim());
    }
  }

  private attachedDisks(inputs: Inputs): { deviceName: string; loop: string }[] {
    const disks = loadDisks();
    return ((inputs.attachedDisks ?? []) as { source?: string; deviceName?: string }[]).map((a) => {
      const disk = Object.values(disks).find((d) => String(a.source ?? "").endsWith(`/disks/${d.name}`));
      if (!disk) throw new Error(`attached disk ${String(a.source)} is not a lab disk`);
      return { deviceName: a.deviceName ?? disk.name, loop: disk.loop };
    });
  }

  /**
   * The getInstanceGuestAttributes invoke as the provider answers it (terraform-provider-google
   * google/services/compute/data_source_google_compute_instance_guest_attributes.go): an instance that does not
   * exist is an error; a key that is not there (not published yet, or guest attributes off) comes back without a
   * value, as the provider drops getGuestAttributes' error. The value is what the cloud store holds, which the
   * VM may have overwritten through the metadata server (lab/gcp-server.ts).
   */
  guestAttributes(inputs: Inputs, instance: Inputs | undefined): Inputs {
    const id = `projects/${String(inputs.project)}/zones/${String(inputs.zone)}/instances/${String(inputs.name)}`;
    if (!instance || !machineRunning()) throw new Error(`${id} not found`);
    const value = loadCloud(p.cloud).guestAttributes?.[String(inputs.variableKey)];
    return { ...inputs, id, ...(value === undefined ? {} : { variableValue: value }), queryValues: [] };
  }

  private zoneName(zoneId: string): string {
    const zone = this.opts.zones[zoneId];
    if (!zone) throw new Error(`zone id ${zoneId} is not a hosted zone of the lab config`);
    return zone;
  }

  /**
   * Cloudflare's zone DNSSEC: status "active" makes knot sign the zone (its own keys, as Cloudflare's), and the
   * outputs carry the real DS of knot's KSK, so the stack output is what a registrar would need.
   */
  private async zoneDnssec(inputs: Inputs): Promise<Inputs> {
    const zone = this.zoneName(String(inputs.zoneId));
    const active = inputs.status === "active";
    setSigned(zone, active);
    await this.dns.sync();
    if (!active) return { ...inputs, status: "disabled" };
    const ds = (await dsRecords(zone))[0];
    if (!ds) throw new Error(`knot made no KSK for ${zone}`);
    const [, , keyTag, algorithm, digestType, digest] = ds.split(" ");
    return {
      ...inputs, status: "active", flags: 257, keyTag: Number(keyTag), algorithm, digestType, digestAlgorithm: "SHA256",
      digest, ds: `${zone}. 3600 IN DS ${keyTag} ${algorithm} ${digestType} ${digest}`, keyType: "ECDSAP256SHA256",
    };
  }

  private recordOf(inputs: Inputs): DnsRecordState {
    const zoneId = String(inputs.zoneId);
    const rawName = String(inputs.name);
    const zone = this.opts.zones[zoneId] ?? Object.values(this.opts.zones)
      .filter((z) => rawName === z || rawName.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
    if (!zone) throw new Error(`zone id ${zoneId} is not a hosted zone of the lab config`);
    const type = String(inputs.type);
    const data = (inputs.data ?? {}) as Record<string, unknown>;
    let content = inputs.content === undefined ? "" : String(inputs.content);
    let priority = inputs.priority === undefined ? undefined : Number(inputs.priority);
    if (type === "SRV" && !content) {
      content = `${String(data.weight)} ${String(data.port)} ${String(data.target)}`;
      priority = Number(data.priority ?? priority ?? 0);
    }
    if (type === "SRV") content = `${priority ?? 0} ${content}`;
    if (type === "TLSA" && !content) content = `${String(data.usage)} ${String(data.selector)} ${String(data.matchingType)} ${String(data.certificate)}`;
    if (type === "CAA" && !content) content = `${String(data.flags ?? 0)} ${String(data.tag)} "${String(data.value)}"`;
    return { zone, name: qualify(rawName, zone), type, content, ttl: Number(inputs.ttl ?? 1), priority };
  }

  /** Runs one of a command resource's commands, locally or over SSH, with the resource's stdin. */
  private async runCommand(type: string, name: string, phase: CommandRun["phase"], inputs: Inputs, command: unknown): Promise<Inputs> {
    const where = type === "command:remote:Command" ? "remote" : "local";
    const stdin = inputs.stdin === undefined ? undefined : String(inputs.stdin);
    info(`${where} command ${name} (${phase})`);
    this.commands.push({ name, phase, where });
    const r = where === "remote"
      ? await runRemote(inputs.connection as Connection, String(command ?? "true"), stdin)
      : await this.runLocal(inputs, String(command ?? "true"), stdin);
    return this.commandResult(name, inputs, r);
  }

  private runLocal(inputs: Inputs, command: string, stdin: string | undefined): Promise<RunResult> {
    const interpreter = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
    const env = { ...process.env, ...((inputs.environment ?? {}) as Record<string, string>) };
    return run(interpreter[0], [...interpreter.slice(1), command], { input: stdin, env, cwd: inputs.dir as string | undefined, allowFail: true });
  }

  /** Logs the output (unless logging is "none"), fails on a non-zero exit, trims one final newline as the provider does. */
  private commandResult(name: string, inputs: Inputs, r: { code: number; stdout: string; stderr: string }): Inputs {
    const hidden = inputs.logging === "none";
    this.log.write(`--- ${name} exit ${r.code}\n${hidden ? "(output not logged: logging none)\n" : `${r.stdout}${r.stderr}`}\n`);
    if (r.code !== 0) {
      throw new Error(`exited ${r.code}${hidden ? " (output hidden: logging none)" : `:\n${r.stderr.trim() || r.stdout.trim()}`}`);
    }
    return { ...inputs, stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
  }
}

/**
 * A secret IAM member's secret_id may be the short id or projects/{project}/secrets/{id}
 * (terraform-provider-google google/services/secretmanager/iam_secret_manager_secret.go): the full name here.
 */
function secretName(secretId: unknown): string {
  const id = String(secretId);
  return id.startsWith("projects/") ? id : `projects/lab/secrets/${id}`;
}

/** The ssh command an admin (or the e2e suite) uses: the deploy key's file and the lab's known_hosts. */
export function sshCommand(user: string, privateKey: string): string {
  return ["ssh", ...sshArgs({ host: NET.machine, user, privateKey })].join(" ");
}

/** The Debian release of the instance's boot image (bootDisk.initializeParams.image), which the lab machine boots. */
function bootRelease(inputs: Inputs): DebianRelease {
  const image = String(((inputs.bootDisk as Inputs | undefined)?.initializeParams as Inputs | undefined)?.image ?? "");
  const release = debianReleaseOf(image);
  if (release === undefined) throw new Error(`the lab boots Debian images only, not ${image || "an instance without bootDisk.initializeParams.image"}`);
  return release;
}
