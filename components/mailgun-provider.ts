// Pulumi dynamic providers for the Mailgun sending domain, its verification and the SMTP credential. They behave as the
// bridged Terraform provider's resources do (core/mailgun.ts REPLACE_FIELDS cites which fields replace): create, read,
// update, delete, and a diff that names the fields that replace. The API key travels as a secret input, as a provider's
// configuration would; a change of it alone only updates the state.
import * as pulumi from "@pulumi/pulumi";
import { randomBytes } from "node:crypto";
import { describe, fieldDiff, recordContents, unverifiedRecords, type MailgunRecord } from "./core/mailgun";
import {
  createCredential, createDomain, credentialExists, deleteCredential, deleteDomain, getDomain, setCredentialPassword, verifyDomain,
  type MailgunEndpoint,
} from "./mailgun-api";

type Props = Record<string, unknown>;
const endpointOf = (p: Props): MailgunEndpoint => ({ apiUrl: String(p.apiUrl), apiKey: String(p.apiKey) });

/**
 * The sending domain: adopted when Mailgun already has it (`created: false`, and then never deleted), else created with
 * the stack's DKIM selector and spam filtering off. Its outputs carry the records Mailgun asks for.
 */
const domainProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Props, news: Props) {
    return fieldDiff("domain", olds, news);
  },
  async create(inputs: Props) {
    const e = endpointOf(inputs);
    const name = String(inputs.name);
    const existing = await getDomain(e, name);
    const info = existing ?? await createDomain(e, name, String(inputs.dkimSelector), String(inputs.spamAction));
    return { id: name, outs: { ...inputs, created: existing === undefined, state: info.state, records: recordContents(name, [...info.sendingRecords, ...info.receivingRecords]) } };
  },
  async read(id: string, props: Props) {
    const info = await getDomain(endpointOf(props), id);
    if (!info) return { id: "", props: {} };
    return { id, props: { ...props, state: info.state, records: recordContents(id, [...info.sendingRecords, ...info.receivingRecords]) } };
  },
  // Only apiKey/apiUrl can differ here (every other field replaces): nothing to ask of Mailgun.
  async update(_id: string, olds: Props, news: Props) {
    return { outs: { ...olds, ...news, created: olds.created, state: olds.state, records: olds.records } };
  },
  // As mailgun_domain's Delete (domain_crud.go:171-189) for a domain the stack made; an adopted one is only forgotten.
  async delete(id: string, props: Props) {
    if (props.created === true) await deleteDomain(endpointOf(props), id);
  },
};

/**
 * Asks Mailgun to verify the domain until it is active, within timeoutSeconds; then fails naming the records Mailgun
 * still finds missing or wrong. `records` (what the stack published) is an input so that a changed record verifies again.
 */
const verificationProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Props, news: Props) {
    const replaces = olds.name === news.name ? [] : ["name"];
    const changes = replaces.length > 0 || JSON.stringify(olds.records) !== JSON.stringify(news.records);
    return { changes, replaces };
  },
  async create(inputs: Props) {
    return { id: String(inputs.name), outs: { ...inputs, state: await verifyUntilActive(inputs) } };
  },
  async update(_id: string, _olds: Props, news: Props) {
    return { outs: { ...news, state: await verifyUntilActive(news) } };
  },
};

async function verifyUntilActive(p: Props): Promise<string> {
  const e = endpointOf(p);
  const name = String(p.name);
  const deadline = Date.now() + Number(p.timeoutSeconds) * 1000;
  for (;;) {
    const info = await verifyDomain(e, name);
    if (info.state === "active") return info.state;
    if (Date.now() >= deadline) {
      const missing = unverifiedRecords([...info.sendingRecords, ...info.receivingRecords]);
      throw new Error(`Mailgun did not verify ${name} within ${String(p.timeoutSeconds)} s (state ${info.state}); it still misses: ` +
        `${missing.map(describe).join("; ") || "(no record named)"} — check that the zone serves them (dig TXT/MX), then deploy again`);
    }
    await new Promise((r) => setTimeout(r, Number(p.intervalSeconds) * 1000));
  }
}

/** 24 random bytes as base64url: 32 characters with no `:` or whitespace, which sasl_passwd could not hold. */
const newPassword = (): string => randomBytes(24).toString("base64url");

/**
 * The SMTP credential the server relays with. Its password is made here, at create, and leaves only as the secret output
 * `password`: no input carries it. login and domain replace (credential_resource.go:59-64, 69-74), so a new
 * mailgunCredentialGeneration is a new credential made before the old one is deleted.
 */
const credentialProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: Props, news: Props) {
    return fieldDiff("credential", olds, news);
  },
  async create(inputs: Props) {
    const e = endpointOf(inputs);
    const domain = String(inputs.domain);
    const login = String(inputs.login);
    const password = newPassword();
    // A credential of this login that the state does not know (a lost state) is taken over with a new password.
    if (await credentialExists(e, domain, login)) await setCredentialPassword(e, domain, login, password);
    else await createCredential(e, domain, login, password);
    return { id: login, outs: { ...inputs, password } };
  },
  async read(id: string, props: Props) {
    if (!(await credentialExists(endpointOf(props), String(props.domain), id))) return { id: "", props: {} };
    return { id, props };
  },
  async update(_id: string, olds: Props, news: Props) {
    return { outs: { ...olds, ...news, password: olds.password } };
  },
  // As mailgun_domain_credential's Delete (credential_resource.go:205-221): the login stops working at once.
  async delete(id: string, props: Props) {
    await deleteCredential(endpointOf(props), String(props.domain), id);
  },
};

export interface MailgunEndpointArgs {
  apiUrl: pulumi.Input<string>;
  /** Secret. */
  apiKey: pulumi.Input<string>;
  region: pulumi.Input<string>;
}

/** The providers by resource type, for tests that run them in-process. */
export const MAILGUN_PROVIDERS: Record<string, pulumi.dynamic.ResourceProvider> = {
  "pulumi-nodejs:dynamic/mailgun:Domain": domainProvider,
  "pulumi-nodejs:dynamic/mailgun:Verification": verificationProvider,
  "pulumi-nodejs:dynamic/mailgun:Credential": credentialProvider,
};

export class MailgunDomain extends pulumi.dynamic.Resource {
  declare readonly created: pulumi.Output<boolean>;
  declare readonly state: pulumi.Output<string>;
  declare readonly records: pulumi.Output<Record<string, MailgunRecord>>;
  constructor(name: string, args: MailgunEndpointArgs & { name: string; dkimSelector: string; spamAction: string }, opts?: pulumi.CustomResourceOptions) {
    super(domainProvider, name, { ...args, created: undefined, state: undefined, records: undefined },
      { ...opts, additionalSecretOutputs: ["apiKey"] }, "mailgun", "Domain");
  }
}

export class MailgunVerification extends pulumi.dynamic.Resource {
  declare readonly state: pulumi.Output<string>;
  constructor(name: string, args: MailgunEndpointArgs & { name: string; records: pulumi.Input<MailgunRecord[]>; timeoutSeconds: number; intervalSeconds: number },
    opts?: pulumi.CustomResourceOptions) {
    super(verificationProvider, name, { ...args, state: undefined }, { ...opts, additionalSecretOutputs: ["apiKey"] }, "mailgun", "Verification");
  }
}

export class MailgunCredential extends pulumi.dynamic.Resource {
  /** Secret: the engine stores and shows it as one (additionalSecretOutputs). */
  declare readonly password: pulumi.Output<string>;
  constructor(name: string, args: MailgunEndpointArgs & { domain: pulumi.Input<string>; login: string }, opts?: pulumi.CustomResourceOptions) {
    super(credentialProvider, name, { ...args, password: undefined },
      { ...opts, additionalSecretOutputs: ["apiKey", "password"] }, "mailgun", "Credential");
  }
}
