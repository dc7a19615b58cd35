// The checks the Pulumi CLI makes on a stack's configuration before it runs the program (`pulumi preview`,
// `up`, `destroy`), written after pulumi/pulumi's source and cited line by line below:
// Project.Validate on Pulumi.yaml's `config:` block, then ValidateStackConfigAndApplyProjectConfig on the
// stack's values: every project key without a default must be set (one error naming all missing keys), the
// defaults are applied, then every typed key is checked in sorted order, secret first, type second; the
// first failure stops the CLI. Stack environments (ESC) are not modelled: our stacks have none.
//
// Read at v3.259.0: the newest tag in the snapshot that `fetch` brings (its HEAD is a later main commit, and
// these files are the same there), while package-lock.json pins @pulumi/pulumi 3.270.0, whose tag is not in
// it. scripts/check-upstream.ts re-reads each cited line.
import type { Citation } from "./citation";

/** An items declaration: `items: {type, items?}`. */
export interface ItemsType { type: string; items?: ItemsType }
/** One key of Pulumi.yaml's `config:` block after the CLI's shorthand rewrite. */
export interface ConfigType {
  type?: string;
  items?: ItemsType;
  description?: string;
  default?: unknown;
  value?: unknown;
  secret?: boolean;
}
export interface Project { name: string; config?: Record<string, unknown> }
/** Turns a `secure:` ciphertext into its plaintext, as the stack's secrets provider would. */
export type Decrypt = (ciphertext: string) => string;

const PULUMI = { repo: "pulumi/pulumi", tag: "v3.259.0" } as const;
const cite = (path: string, line: number, expect: string, claim: string): Citation => ({ ...PULUMI, path, line, expect, claim });
const CONFIG_GO = "pkg/workspace/config.go";
const PROJECT_GO = "sdk/go/common/workspace/project.go";
const OBJECT_GO = "sdk/go/common/resource/config/object.go";
const SDK_CONFIG_TS = "sdk/nodejs/runtime/config.ts";

export const citations: Citation[] = [
  cite(CONFIG_GO, 377, "\treturn mergeConfig(ctx, stackName, project, stackEnv, stackConfig, encrypter, decrypter, true)",
    "ValidateStackConfigAndApplyProjectConfig is mergeConfig with validation on."),
  cite(CONFIG_GO, 300, "\tsort.Strings(keys)", "Project keys are visited in sorted order."),
  cite(CONFIG_GO, 319, "\t\tif !foundOnStack && !hasValue && !hasDefault && key.Namespace() == projectName {",
    "A project-namespaced key without default or value that the stack does not set is missing, whether typed or not."),
  cite(CONFIG_GO, 333, "\t\t\tif hasDefault {", "A key the stack does not set gets its default (or value) before validation."),
  cite(CONFIG_GO, 351, "\tif validate && len(missingConfigurationKeys) > 0 {",
    "All missing keys are reported together, before any value is validated."),
  cite(CONFIG_GO, 60, "\t\t\"Stack '%v' is missing configuration %v %v\",", "The wording of the missing-keys error."),
  cite(CONFIG_GO, 41, "\t\t\tfmt.Fprintf(&formattedMissingKeys, \"and '%s'\", key)",
    "Several missing keys are listed sorted, the last after \"and\"."),
  cite(CONFIG_GO, 172, "\tcase string, int, bool:", "A string, integer or boolean default becomes a plain text value."),
  cite(CONFIG_GO, 192, "\treturn config.NewObjectValue(string(configValueJSON)), nil",
    "Any other default (a list, a map, a fraction) becomes an object value holding its JSON."),
  cite(CONFIG_GO, 101, "\t\tif projectConfigType.IsExplicitlyTyped() {", "Only keys with a type are validated."),
  cite(CONFIG_GO, 128, "\tif projectConfigType.Secret && !stackValue.Secure() {",
    "A key declared secret must hold a secure value, checked before its type; a default is never secure."),
  cite(CONFIG_GO, 130, "\t\t\t\"Stack '%v' with configuration key '%v' must be encrypted as it's secret\",",
    "The wording of the secret error."),
  cite(CONFIG_GO, 138, "\tif stackValue.Object() {",
    "An object value is validated as its decoded JSON, any other value as its (decrypted) text."),
  cite(CONFIG_GO, 148, "\t\t\t\"Stack '%v' with configuration key '%v' must be of type '%v'\",", "The wording of the type error."),
  cite(PROJECT_GO, 762, "\t\treturn fmt.Sprintf(\"array<%v>\", InferFullTypeName(itemsType.Type, itemsType.Items))",
    "A type with items is named array<item type>."),
  cite(PROJECT_GO, 772, "\tif typeName == stringTypeName {", "string: the value must be text (every scalar arrives as text)."),
  cite(PROJECT_GO, 784, "\t\tf, ok := value.(float64)", "integer: a whole JSON number is accepted."),
  cite(PROJECT_GO, 791, "\t\t\t_, integerParseError := strconv.Atoi(valueAsText)",
    "integer: text is accepted when strconv.Atoi parses it (optional sign, decimal digits, 64-bit)."),
  cite(PROJECT_GO, 801, "\t\tif ok && (literalValue == \"true\" || literalValue == \"false\") {",
    "boolean: the text true or false, or a JSON boolean."),
  cite(PROJECT_GO, 811, "\t\t_, ok := value.(map[string]any)", "object: a JSON map."),
  cite(PROJECT_GO, 817, "\tif !isArray || itemsType == nil {",
    "Any other type needs a JSON list and an items declaration; each item is checked against it."),
  cite(PROJECT_GO, 844, "\t\tif configType.Default != nil && configType.Value != nil {",
    "Project.Validate: a key may not have both default and value."),
  cite(PROJECT_GO, 854, "\t\t\t\t\t\"but does not specify the underlying type via the 'items' attribute\", configKey)",
    "Project.Validate: an array type needs items."),
  cite(PROJECT_GO, 859, "\t\t\t\tif !ValidateConfigValue(configTypeName, configType.Items, configType.Default) {",
    "Project.Validate: a typed key's default must hold its type (as the YAML value, not as text)."),
  cite(PROJECT_GO, 504, "\t\t\t\t// then this is a project namespaced config _type_ with a default value",
    "A scalar or list written directly under a project key is its default."),
  cite(OBJECT_GO, 542, "\tif m, isMap := v.(map[string]any); isMap && len(m) == 1 {",
    "A stack value is secure when it is a map of exactly one key, secure, holding a string."),
  cite(OBJECT_GO, 405, "\tcase bool, int64, uint64, float64:", "A YAML number or boolean in a stack file becomes plain text."),
  cite(OBJECT_GO, 417, "\t\treturn string(bytes), c.Secure(), true, nil",
    "A list or map becomes an object value, secure when any leaf is (config/object.go Secure)."),
  // So a key declared secret can have no default (it is applied before the secret check, as plain text): an optional
  // secret key (relayPassword, mailgunApiKey: one of two relay modes) is declared without `secret`, and the program
  // refuses its plain value itself (components/config.ts plainSecrets), from the keys the CLI decrypted:
  cite(SDK_CONFIG_TS, 74, "export function isConfigSecret(k: string): boolean {",
    "The program can tell a key the CLI decrypted (a secure: value) from a plain one (internal to the SDK)."),
  cite(SDK_CONFIG_TS, 76, "    const envConfigSecretKeys = config[configSecretKeysEnvKey];",
    "It reads PULUMI_CONFIG_SECRET_KEYS, the list of secure keys the CLI hands the program."),
];

// ---------- Pulumi.yaml ----------

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isPrimitive = (v: unknown): boolean => typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v));
const namespacedByProject = (project: string, key: string): boolean => !key.includes(":") || key.startsWith(`${project}:`);

/** RewriteShorthandConfigValues: `key: value` under `config:` is a default (project keys) or a value (others). */
export function declarations(project: Project): Record<string, ConfigType> {
  return Object.fromEntries(Object.entries(project.config ?? {}).map(([key, d]) => [key,
    isPrimitive(d) || Array.isArray(d) ? (namespacedByProject(project.name, key) ? { default: d } : { value: d }) : d as ConfigType]));
}

export const fullTypeName = (type: string, items?: ItemsType): string => (items ? `array<${fullTypeName(items.type, items.items)}>` : type);

/** ValidateConfigValue: does a decoded value (text, JSON value or YAML default) hold the declared type? */
export function holdsType(type: string, items: ItemsType | undefined, value: unknown): boolean {
  if (type === "string") return typeof value === "string";
  if (type === "integer") {
    if (typeof value === "number") return Number.isInteger(value);
    return typeof value === "string" && atoi(value);
  }
  if (type === "boolean") return value === "true" || value === "false" || typeof value === "boolean";
  if (type === "object") return isMap(value);
  if (!Array.isArray(value) || items === undefined) return false;
  return value.every((item) => holdsType(items.type, items.items, item));
}

/** Go's strconv.Atoi on a 64-bit machine. */
function atoi(s: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Project.Validate on the `config:` block: the first problem, or undefined. */
export function validateProject(project: Project): string | undefined {
  for (const [key, d] of Object.entries(declarations(project)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (d.default !== undefined && d.value !== undefined) return `project config '${key}' cannot have both a 'default' and 'value' attribute`;
    if (namespacedByProject(project.name, key)) {
      if (d.type === "array" && d.items === undefined) {
        return `The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`;
      }
      if (d.type !== undefined && d.default !== undefined && !holdsType(d.type, d.items, d.default)) {
        return `The default value specified for configuration key '${key}' is not of the expected type '${fullTypeName(d.type, d.items)}'`;
      }
    } else {
      if (d.type !== undefined) return `Configuration key '${key}' is not namespaced by the project and should not define a type`;
      if (d.default !== undefined) {
        return `Configuration key '${key}' is not namespaced by the project and should not define a default value. ` +
          "Did you mean to use the 'value' attribute instead of 'default'?";
      }
      if (d.value === undefined) return `Configuration key '${key}' is namespaced and must provide an attribute 'value'`;
    }
  }
  return undefined;
}

// ---------- the stack's values ----------

/** config.Value: the text the CLI keeps for a key, whether it is a secure scalar, and whether it is JSON. */
interface Value { text: string; secure: boolean; object: boolean }

const secureLeaf = (v: unknown): string | undefined => {
  if (!isMap(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === "secure" && typeof v.secure === "string" ? v.secure : undefined;
};
const hasSecureLeaf = (v: unknown): boolean => secureLeaf(v) !== undefined
  || (Array.isArray(v) ? v.some(hasSecureLeaf) : isMap(v) && Object.values(v).some(hasSecureLeaf));

/** A value as the stack file's YAML holds it, as config.Value unmarshals it. */
function stackValue(v: unknown): Value {
  const ciphertext = secureLeaf(v);
  if (ciphertext !== undefined) return { text: ciphertext, secure: true, object: false };
  if (typeof v === "string") return { text: v, secure: false, object: false };
  if (typeof v === "number" || typeof v === "boolean") return { text: JSON.stringify(v), secure: false, object: false };
  // A list, a map, or null (a key with nothing after it): JSON text.
  return { text: JSON.stringify(v ?? null), secure: hasSecureLeaf(v), object: true };
}

/** createConfigValue: a default as the value the stack gets. */
function defaultValue(v: unknown): Value {
  return isPrimitive(v) ? { text: String(v), secure: false, object: false } : { text: JSON.stringify(v), secure: false, object: true };
}

/** Value(dec): the decrypted text; an object's secure leaves are replaced by their plaintext. */
function decrypted(value: Value, decrypt: Decrypt): string {
  if (value.secure && !value.object) return decrypt(value.text);
  if (!value.object) return value.text;
  const open = (v: unknown): unknown => {
    const c = secureLeaf(v);
    if (c !== undefined) return decrypt(c);
    if (Array.isArray(v)) return v.map(open);
    return isMap(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, open(x)])) : v;
  };
  return JSON.stringify(open(JSON.parse(value.text)));
}

const formatMissing = (keys: string[]): string => (keys.length === 1 ? `'${keys[0]}'`
  : `${keys.slice(0, -1).map((k) => `'${k}'`).join(", ")} and '${keys[keys.length - 1]}'`);

/**
 * What `pulumi preview` on this stack says before it runs the program: the CLI's first error, or undefined.
 * `config` is the `config:` map of Pulumi.<stack>.yaml as YAML parses it.
 */
export function validateStack(stack: string, project: Project, config: Record<string, unknown>, decrypt: Decrypt): string | undefined {
  const projectProblem = validateProject(project);
  if (projectProblem !== undefined) return projectProblem;
  const declared = declarations(project);
  const keys = Object.keys(declared).sort();
  const full = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
  const values = new Map<string, Value>(Object.entries(config).map(([k, v]) => [k, stackValue(v)]));

  const missing: string[] = [];
  for (const key of keys) {
    const d = declared[key];
    if (values.has(full(key))) continue;
    const given = d.default ?? d.value;
    if (given === undefined && namespacedByProject(project.name, key)) missing.push(key);
    else if (given !== undefined) values.set(full(key), defaultValue(given));
  }
  if (missing.length > 0) return `Stack '${stack}' is missing configuration value${missing.length > 1 ? "s" : ""} ${formatMissing(missing)}`;

  for (const key of keys) {
    const d = declared[key];
    const value = values.get(full(key));
    if (d.type === undefined || value === undefined) continue;
    if (d.secret && !value.secure) return `Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret`;
    const text = decrypted(value, decrypt);
    const content: unknown = value.object ? JSON.parse(text) : text;
    if (!holdsType(d.type, d.items, content)) {
      return `Stack '${stack}' with configuration key '${key}' must be of type '${fullTypeName(d.type, d.items)}'`;
    }
  }
  return undefined;
}
