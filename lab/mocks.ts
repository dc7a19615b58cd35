// Pulumi mocks that do the real local equivalent of each resource: the lab's stand-in for the providers.
// Every deploy is a create (mocks have no state), which the program's idempotent commands are built for.
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import { DnsRecordState, qualify, ZoneWriter } from "./dns";
import { ensureDisk, loadDisks } from "./disks";
import { keyFor } from "./keys";
import { bootMachine, ensureUser, prepareRoot } from "./machine";
import { MACHINE_NAME, NET, p } from "./paths";
import { info, run } from "./proc";
import { Connection, runRemote, sshArgs } from "./ssh";

type Inputs = Record<string, unknown>;
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

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
}

export class LabMocks implements pulumi.runtime.Mocks {
  readonly errors: Error[] = [];
  readonly records: DnsRecordState[] = [];
  private pending = 0;
  private readonly dns: ZoneWriter;
  private readonly log: fs.WriteStream;

  constructor(private readonly opts: LabMocksOptions) {
    this.dns = new ZoneWriter(Object.values(opts.zones));
    fs.mkdirSync(p.logs, { recursive: true });
    this.log = fs.createWriteStream(path.join(p.logs, "deploy.log"), { flags: "a", mode: 0o600 });
  }

  get busy(): boolean { return this.pending > 0; }

  /** Writes the final zones: exactly the records of this deploy. */
  finish(): Promise<void> { return this.dns.finish(this.records); }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    this.pending++;
    try {
      const inputs = unwrapSecrets(args.inputs) as Inputs;
      return { id: `${args.name}-id`, state: await this.create(args.type, args.name, inputs) };
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
    return args.token === "gcp:compute/getImage:getImage" ? { selfLink: String(args.inputs.family ?? "debian-12"), name: "debian-12" } : {};
  }

  private async create(type: string, name: string, inputs: Inputs): Promise<Inputs> {
    switch (type) {
      case "tls:index/privateKey:PrivateKey": {
        const { algorithm: _a, ...key } = keyFor(name, String(inputs.algorithm ?? "RSA"), Number(inputs.rsaBits ?? 2048));
        return { ...inputs, ...key };
      }
      case "gcp:compute/address:Address":
        return { ...inputs, address: NET.machine, name, selfLink: `lab/addresses/${name}` };
      case "gcp:compute/disk:Disk": {
        const disk = await ensureDisk(name, Number(inputs.size ?? 10));
        info(`data disk ${name}: ${disk.image} on ${disk.loop}`);
        return { ...inputs, name, selfLink: `projects/lab/zones/${String(inputs.zone)}/disks/${name}` };
      }
      case "gcp:compute/instance:Instance":
        return this.instance(name, inputs);
      case "cloudflare:index/dnsRecord:DnsRecord":
        return this.dnsRecord(inputs);
      case "gcp:serviceaccount/account:Account":
        return { ...inputs, email: `${String(inputs.accountId)}@lab.iam.gserviceaccount.com`, name };
      case "gcp:secretmanager/secret:Secret":
        return { ...inputs, name: `projects/lab/secrets/${String(inputs.secretId ?? name)}` };
      case "gcp:secretmanager/secretVersion:SecretVersion":
        storeSecret(String(inputs.secret), String(inputs.secretData ?? ""));
        return { ...inputs, name: `${String(inputs.secret)}/versions/1`, version: "1" };
      case "command:local:Command":
        return this.localCommand(name, inputs);
      case "command:remote:Command":
        return this.remoteCommand(name, inputs);
      default:
        return { ...inputs, name: inputs.name ?? name };
    }
  }

  private async instance(name: string, inputs: Inputs): Promise<Inputs> {
    await prepareRoot(this.opts.hostname);
    const metadata = (inputs.metadata ?? {}) as Record<string, string>;
    for (const line of String(metadata["ssh-keys"] ?? "").split("\n").filter((l) => l.includes(":"))) {
      const user = line.slice(0, line.indexOf(":"));
      const key = line.slice(line.indexOf(":") + 1).trim();
      await ensureUser(user, key);
    }
    const disks = loadDisks();
    const attached = ((inputs.attachedDisks ?? []) as { source?: string; deviceName?: string }[]).map((a) => {
      const disk = Object.values(disks).find((d) => a.source === `${d.name}-id` || a.source === d.name ||
        String(a.source ?? "").endsWith(`/disks/${d.name}`));
      if (!disk) throw new Error(`attached disk ${String(a.source)} is not a lab disk`);
      return { deviceName: a.deviceName ?? disk.name, loop: disk.loop };
    });
    info(`booting the lab machine ${MACHINE_NAME} (${NET.machine})`);
    await bootMachine(attached);
    return {
      ...inputs,
      name,
      instanceId: "1000000000000000001",
      selfLink: `projects/lab/zones/${String(inputs.zone)}/instances/${name}`,
      networkInterfaces: [{ ...(((inputs.networkInterfaces ?? []) as Inputs[])[0] ?? {}), networkIp: NET.machine,
        accessConfigs: [{ natIp: NET.machine }] }],
    };
  }

  private async dnsRecord(inputs: Inputs): Promise<Inputs> {
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
    if (type === "CAA" && !content) content = `${String(data.flags ?? 0)} ${String(data.tag)} "${String(data.value)}"`;
    const record: DnsRecordState = { zone, name: qualify(rawName, zone), type, content, ttl: Number(inputs.ttl ?? 1), priority };
    this.records.push(record);
    await this.dns.add(record);
    return { ...inputs, name: record.name, content: inputs.content ?? content, proxiable: false, zoneName: zone };
  }

  private async localCommand(name: string, inputs: Inputs): Promise<Inputs> {
    const interpreter = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
    const env = { ...process.env, ...((inputs.environment ?? {}) as Record<string, string>) };
    info(`local command ${name}`);
    const r = await run(interpreter[0], [...interpreter.slice(1), String(inputs.create ?? "true")],
      { input: inputs.stdin === undefined ? undefined : String(inputs.stdin), env, cwd: inputs.dir as string | undefined, allowFail: true });
    return this.commandResult(name, inputs, r);
  }

  private async remoteCommand(name: string, inputs: Inputs): Promise<Inputs> {
    const c = inputs.connection as Connection;
    info(`remote command ${name}`);
    const r = await runRemote(c, String(inputs.create ?? "true"), inputs.stdin === undefined ? undefined : String(inputs.stdin));
    return this.commandResult(name, inputs, r);
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

function storeSecret(secret: string, data: string): void {
  let all: Record<string, string> = {};
  try { all = JSON.parse(fs.readFileSync(p.secrets, "utf8")) as Record<string, string>; } catch { /* first */ }
  all[secret] = data;
  fs.mkdirSync(path.dirname(p.secrets), { recursive: true });
  fs.writeFileSync(p.secrets, JSON.stringify(all, null, 2), { mode: 0o600 });
  fs.chmodSync(p.secrets, 0o600);
}

/** The ssh command an admin (or the e2e suite) uses: the deploy key's file and the lab's known_hosts. */
export function sshCommand(user: string, privateKey: string): string {
  return ["ssh", ...sshArgs({ host: NET.machine, user, privateKey })].join(" ");
}
