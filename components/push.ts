// Pushes the rendered configuration to the VM over SSH: wait for boot → provision → stage each file →
// check and apply (reload only what changed). Every secret travels on a command's stdin; no command line,
// environment variable or log line carries one.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "./core/files";
import { applyManifest, shellQuote } from "./core/provision";

/** A file's metadata: known from config alone, so the set of commands is fixed at program time. */
export type FileSpec = Omit<RenderedFile, "content">;

export interface MailPushArgs {
  host: pulumi.Input<string>;
  user: string;
  privateKey: pulumi.Input<string>;
  /** Changes (a new VM) re-run the whole chain. */
  instanceId: pulumi.Input<string>;
  provisionScript: string;
  files: FileSpec[];
  /** Path → content, from the renderer (an Output because DKIM keys come from state). */
  contents: pulumi.Output<Record<string, string>>;
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
      user: args.user,
      privateKey: args.privateKey,
      // The local wait below has already seen sshd answer; these cover the guest agent creating the user.
      dialErrorLimit: 30,
      perDialTimeout: 10,
    };

    // The provider's own dial retries have no pause, so a booting VM is awaited here, with one.
    const waitSsh = new command.local.Command(`${name}-wait-ssh`, {
      interpreter: ["/bin/bash", "-c"],
      create: [
        'for i in $(seq 60); do',
        '  if timeout 5 bash -c \'exec 3<>"/dev/tcp/$HOST/22" && head -c 4 <&3 | grep -q SSH\' 2>/dev/null; then exit 0; fi',
        "  sleep 5",
        "done",
        'echo "SSH on $HOST:22 did not answer within 5 minutes" >&2; exit 1',
      ].join("\n"),
      environment: { HOST: args.host },
      triggers: [args.instanceId],
    }, { parent: this });

    // Each command line names the instance, so a new VM re-runs (updates, never replaces) every step below:
    // replacing a file's command would run its delete (unstage) after the new create. (Remote `environment`
    // would need AcceptEnv on the server.)
    const onInstance = (cmd: string) => pulumi.interpolate`${cmd} # instance ${args.instanceId}`;

    const waitBoot = new command.remote.Command(`${name}-wait-boot`, {
      connection,
      create: onInstance("sudo systemctl is-system-running --wait || true"),
    }, { parent: this, dependsOn: [waitSsh] });

    const provision = new command.remote.Command(`${name}-provision`, {
      connection,
      create: onInstance("sudo bash -s"),
      stdin: args.provisionScript,
    }, { parent: this, dependsOn: [waitBoot, ...(args.provisionDependsOn ?? [])] });

    const staged = args.files.map((f) => {
      const content = args.contents.apply((all) => {
        const text = all[f.path];
        if (text === undefined) throw new Error(`renderer produced no content for ${f.path}`);
        return text;
      });
      return new command.remote.Command(`${name}-file-${fileSlug(f.path)}`, {
        connection,
        create: onInstance(`sudo /usr/local/sbin/mailserver-stage ${[f.path, f.mode, f.owner, f.group].map(shellQuote).join(" ")}`),
        delete: `sudo /usr/local/sbin/mailserver-unstage ${shellQuote(f.path)}`,
        stdin: f.secret ? pulumi.secret(content) : content,
        ...(f.secret ? { logging: command.types.enums.remote.Logging.None } : {}),
      }, {
        parent: this,
        dependsOn: [provision],
        ...(f.secret ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
      });
    });

    // Re-runs whenever a staged file's hash changes; checks everything before it touches a live file.
    const apply = new command.remote.Command(`${name}-apply`, {
      connection,
      create: onInstance("sudo /usr/local/sbin/mailserver-apply"),
      stdin: applyManifest(args.files),
      triggers: staged.map((s) => s.stdout),
    }, { parent: this, dependsOn: staged });
    this.applied = apply.stdout;

    this.registerOutputs({ applied: this.applied });
  }
}
