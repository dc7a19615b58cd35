// Pushes the rendered configuration to the VM over SSH: wait for boot → provision → stage each file →
// check and apply (reload only what changed). Every secret travels on a command's stdin; no command line,
// environment variable or log line carries one.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "./core/files";
import { DATA_DEVICE } from "./core/layout";
import { applyManifest, shellQuote } from "./core/provision";

/**
 * A file to install: metadata known from config alone (so the set of commands is fixed at program time),
 * content plain for ordinary files and an Output only where it comes from a secret (DKIM keys).
 */
export type PushFile = Omit<RenderedFile, "content"> & { content: pulumi.Input<string> };

/** What a command reads on stdin: text anyone may see in a preview, or a secret. */
type Stdin = { plain: pulumi.Input<string> } | { secret: pulumi.Input<string> };

/**
 * The one rule for a command that carries a secret on stdin: the stdin is a Pulumi secret (encrypted in the
 * state, masked in the preview), nothing the command prints is logged (a script that fails may echo what it
 * read), and its stdout and stderr are secret outputs. Every remote command is made through `remoteCommand`,
 * which applies it; tests/stack/push.test.ts finds any command that breaks it.
 */
function stdinArgs(stdin: Stdin | undefined): {
  args: Pick<command.remote.CommandArgs, "stdin" | "logging">;
  opts: Pick<pulumi.CustomResourceOptions, "additionalSecretOutputs">;
} {
  if (stdin === undefined) return { args: {}, opts: {} };
  if ("plain" in stdin) return { args: { stdin: stdin.plain }, opts: {} };
  return {
    args: { stdin: pulumi.secret(stdin.secret), logging: command.types.enums.remote.Logging.None },
    opts: { additionalSecretOutputs: ["stdout", "stderr"] },
  };
}

export interface MailPushArgs {
  host: pulumi.Input<string>;
  /** 22, or the local end of an IAP tunnel (core/ports.ts sshEndpoint). */
  port: number;
  user: string;
  privateKey: pulumi.Input<string>;
  /** The VM's SSH host key ("ssh-ed25519 AAAA…"): a server that presents another one is refused. */
  hostKey: pulumi.Input<string>;
  /** Changes (a new VM) re-run the whole chain. */
  instanceId: pulumi.Input<string>;
  provisionScript: string;
  files: PushFile[];
  /**
   * The Secret Manager version of the relay password (projects/…/secrets/…/versions/N): the apply reads it on
   * the server with the VM's service account; a new version (rotation) re-runs the apply.
   */
  relaySecretVersion: pulumi.Input<string>;
  /** The data disk's size: a larger disk re-runs the online filesystem grow. */
  dataDiskSizeGb: number;
  /**
   * The boot disk's size as the instance reports it: a larger one (GCE resizes the disk under the running VM)
   * re-runs the root's grow, and being the instance's output, only once the resize is done.
   */
  bootDiskSizeGb: pulumi.Input<number>;
  /** The data disk: a new one (a restore, a smaller size; the VM is replaced with it) re-runs provisioning, which mounts it. */
  dataDiskId: pulumi.Input<string>;
  /** The serving TLS key (made by the stack, core/dane.ts) and what its certificate depends on (core/provision.ts tlsSettings). */
  tls: { keyName: string; privateKeyPem: pulumi.Input<string>; spkiSha256: pulumi.Input<string>; settings: string };
  /** What provisioning needs first (the data disk, the DNS records the ACME validation resolves). */
  provisionDependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Resource name suffix for a target path: /etc/postfix/main.cf → etc-postfix-main.cf */
export function fileSlug(path: string): string {
  return path.replace(/^\//, "").replace(/[^A-Za-z0-9._-]+/g, "-");
}

export class MailPush extends pulumi.ComponentResource {
  public readonly applied: pulumi.Output<string>;

  constructor(name: string, args: MailPushArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailPush", name, {}, opts);
    const connection: command.types.input.remote.ConnectionArgs = {
      host: args.host,
      port: args.port,
      user: args.user,
      privateKey: args.privateKey,
      hostKey: args.hostKey,
      // The local wait below has already seen sshd answer; these cover the guest agent creating the user.
      dialErrorLimit: 30,
      perDialTimeout: 10,
    };

    // The provider's own dial retries have no pause, so a booting VM is awaited here, with one.
    const waitSsh = new command.local.Command(`${name}-wait-ssh`, {
      interpreter: ["/bin/bash", "-c"],
      create: [
        'for i in $(seq 60); do',
        '  if timeout 5 bash -c \'exec 3<>"/dev/tcp/$HOST/${PORT:-22}" && head -c 4 <&3 | grep -q SSH\' 2>/dev/null; then exit 0; fi',
        "  sleep 5",
        "done",
        'echo "SSH on $HOST:${PORT:-22} did not answer within 5 minutes (with sshViaIap: is scripts/iap-tunnel.sh running?)" >&2; exit 1',
      ].join("\n"),
      environment: { HOST: args.host, ...(args.port === 22 ? {} : { PORT: String(args.port) }) },
      triggers: [args.instanceId],
    }, { parent: this });

    // Each command line names the instance, so a new VM re-runs every step below. (Remote `environment`
    // would need AcceptEnv on the server.)
    const onInstance = (cmd: pulumi.Input<string>) => pulumi.interpolate`${cmd} # instance ${args.instanceId}`;

    // Every remote command: the pinned connection, the stdin rule (stdinArgs), and addPreviousOutputInEnv off:
    // unless it is, pulumi-command 1.x asks SSH to Setenv PULUMI_COMMAND_STDOUT/STDERR on every update, which
    // Debian's sshd refuses without AcceptEnv (provider/pkg/provider/remote/commandOutputs.go, v1.2.1).
    type RemoteArgs = Omit<command.remote.CommandArgs, "connection" | "addPreviousOutputInEnv" | "stdin" | "logging">;
    const remoteCommand = (suffix: string, args: RemoteArgs, stdin: Stdin | undefined, opts: pulumi.CustomResourceOptions) => {
      const s = stdinArgs(stdin);
      return new command.remote.Command(`${name}-${suffix}`, { connection, addPreviousOutputInEnv: false, ...args, ...s.args }, { parent: this, ...opts, ...s.opts });
    };

    const waitBoot = remoteCommand("wait-boot", {
      create: onInstance("sudo systemctl is-system-running --wait || true"),
    }, undefined, { dependsOn: [waitSsh] });

    // Nothing on the VM mounts the data disk by itself, so the disk's id in the line re-runs provisioning, which
    // formats it if it is empty and mounts it on /srv/mail (templates/provision/provision.sh.mustache, step 3).
    // A new disk comes with a new VM (components/host.ts), whose id re-runs it too. An Update runs `create` again
    // (pulumi-command provider/pkg/provider/remote/commandController.go, Update).
    const provision = remoteCommand("provision", {
      create: onInstance(pulumi.interpolate`sudo bash -s # data disk ${args.dataDiskId}`),
    }, { plain: args.provisionScript }, { dependsOn: [waitBoot, ...(args.provisionDependsOn ?? [])] });

    // GCE grows a disk in place (terraform-provider-google: compute/resource_compute_disk.go, "size" is
    // updatable, force-new only when it shrinks); the filesystem must follow. resize2fs grows a mounted ext4
    // online and says "Nothing to do" when it already fills the disk. The size in the line re-runs it, and so
    // does a new disk (one made from a snapshot may be larger than the snapshot's filesystem).
    remoteCommand("grow-data", {
      create: onInstance(pulumi.interpolate`sudo resize2fs ${shellQuote(DATA_DEVICE)} # data disk ${args.dataDiskId}, ${args.dataDiskSizeGb} GB`),
    }, undefined, { dependsOn: [provision] });

    // A larger bootDiskSizeGb is a disks/resize of the running VM's boot disk, not a new VM (upstream/diff-table.ts);
    // the root partition and its ext4 must follow, online (mailserver-growroot, installed by provisioning: growpart,
    // then resize2fs). A new size replaces this command, which runs it again; on a root that already fills its disk
    // it changes nothing.
    remoteCommand("grow-root", {
      create: onInstance("sudo /usr/local/sbin/mailserver-growroot"),
      triggers: [args.bootDiskSizeGb],
    }, undefined, { dependsOn: [provision] });

    // No `delete`: a destroy must not need the VM (it may be gone, stopped or out of reach). A file that
    // leaves the configuration is removed by the next apply, which prunes what its manifest no longer lists.
    const staged = args.files.map((f) => remoteCommand(`file-${fileSlug(f.path)}`, {
      create: onInstance(`sudo /usr/local/sbin/mailserver-stage ${[f.path, f.mode, f.owner, f.group].map(shellQuote).join(" ")}`),
    }, f.secret ? { secret: f.content } : { plain: f.content }, { dependsOn: [provision] }));

    // The stack's TLS key, on stdin, and a certificate for it (ACME or self-signed) before the daemons start.
    // The line names the key's public hash and the settings, so a new key or a new mode shows in the preview
    // and re-runs it; the key itself never reaches a command line or a log.
    const tls = remoteCommand("tls", {
      create: pulumi.interpolate`sudo /usr/local/sbin/mailserver-tls install ${shellQuote(args.tls.keyName)} # key spki sha256 ${args.tls.spkiSha256}, ${args.tls.settings} # instance ${args.instanceId}`,
    }, { secret: args.tls.privateKeyPem }, { dependsOn: [provision] });

    // Each stage prints "path sha256 mode owner group": any change of a file's bytes or attributes changes
    // the triggers and replaces (re-runs) the apply, which checks everything before it touches a live file.
    // Its stdin (the manifest) re-runs it when a file is added or removed; a new relay secret version too.
    const apply = remoteCommand("apply", {
      create: pulumi.output(args.relaySecretVersion).apply((v) => onInstance(`sudo /usr/local/sbin/mailserver-apply ${shellQuote(v)}`)),
      triggers: [...staged.map((s) => s.stdout), args.relaySecretVersion],
    }, { plain: applyManifest(args.files) }, { dependsOn: [...staged, tls] });
    this.applied = apply.stdout;

    this.registerOutputs({ applied: this.applied });
  }
}
