import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import type * as CedarWasm from "@cedar-policy/cedar-wasm/nodejs";
import { canonicalJson } from "./canonical-json.ts";
import type { Identity } from "./identity.ts";

let cedarModule: typeof CedarWasm | undefined;

/**
 * Cedar's 4 MB Wasm module, compiled on first use (a policy load), so processes that never decide (CLI
 * commands, audit verify) do not pay for it. The flags must be set before the module compiles:
 * - Node 20's V8 (11.3) can crash ("unreachable code" in the deoptimizer) when it inlines hot JS→Wasm
 *   calls such as Cedar's evaluator; turning the inlining off avoids it (decisions are cached below).
 * - Baseline (Liftoff) code only: tiering the module up to TurboFan roughly doubled the policy load at
 *   start-up (bench: stdio cold start) while evaluation speed stayed the same, and decisions are cached.
 */
function cedarWasm(): typeof CedarWasm {
  if (!cedarModule) {
    setFlagsFromString("--no-turbo-inline-js-wasm-calls");
    setFlagsFromString("--liftoff-only");
    cedarModule = createRequire(import.meta.url)("@cedar-policy/cedar-wasm/nodejs") as typeof CedarWasm;
  }
  return cedarModule;
}

/** The shared schema and base policies every server loads before its own. */
export const BASE_POLICY_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "policy");

export interface ToolResource {
  server: string;
  name: string;
  kind: string;
  scope: string;
}

export interface RecordResource {
  recordType: string;
  id: string;
  tenant: string;
}

export interface SubjectResource {
  subjectType: string;
  id: string;
  tenant: string;
  /** Who created it. */
  owner: string;
  /** Everyone who wrote its current content (creator and editors): the four-eyes rule excludes them all. */
  authors: string[];
}

export type PolicyRequest =
  | { action: "call_tool" | "see_pii"; identity: Identity; tool: ToolResource; targetTenant: string }
  | { action: "read_record"; identity: Identity; record: RecordResource; targetTenant: string }
  | { action: "approve"; identity: Identity; subject: SubjectResource; targetTenant: string }
  /** The operator console: an area's data of one tenant ("*": every tenant), shown or acted on. */
  | { action: "console_view" | "console_act"; identity: Identity; area: string; targetTenant: string };

export interface PolicyDecision {
  allow: boolean;
  /** The policies that determined the decision (the permits that allowed, or the forbids that denied). */
  policyIds: string[];
  errors: string[];
}

export class PolicyLoadError extends Error {}

const NS = "Gatehouse";
let instances = 0;

/**
 * The one policy decision point: Cedar policies from files, validated against the schema at load,
 * pre-parsed once, evaluated per call. Default deny; any evaluation error is a deny, never a pass.
 */
export class PolicyEngine {
  private readonly setId: string;
  readonly policyIds: string[];
  /**
   * Decisions are pure functions of the request while the policy set is fixed (it is, for a process's
   * life), so identical requests are answered from a bounded cache instead of re-evaluating.
   */
  private readonly cache = new Map<string, PolicyDecision>();
  private static readonly CACHE_SIZE = 10_000;

  private constructor(policies: Record<string, string>) {
    this.setId = `gatehouse-${++instances}`;
    this.policyIds = Object.keys(policies).sort();
    const set = cedarWasm().preparsePolicySet(this.setId, { staticPolicies: policies });
    if (set.type !== "success") throw new PolicyLoadError(`policies failed to load: ${messages(set.errors)}`);
  }

  /** Loads the base schema and policies plus every `*.cedar` file in `dirs`; any problem names the file. */
  static load(dirs: string[]): PolicyEngine {
    const schema = readFileSync(join(BASE_POLICY_DIR, "gatehouse.cedarschema"), "utf8");
    const files: Array<{ path: string; text: string }> = [];
    for (const dir of [BASE_POLICY_DIR, ...dirs]) {
      let names: string[];
      try {
        names = readdirSync(dir)
          .filter((f) => f.endsWith(".cedar"))
          .sort();
      } catch {
        throw new PolicyLoadError(`policy folder ${dir} cannot be read`);
      }
      for (const name of names) {
        const path = join(dir, name);
        files.push({ path, text: readFileSync(path, "utf8") });
      }
    }
    // Validating each file parses the schema again each time; one validation of the whole set is the
    // common case. Only when something is wrong is the set loaded file by file, to name the file.
    const policies = policiesIfValid(files, schema) ?? policiesFileByFile(files, schema);
    if (Object.keys(policies).length === 0)
      throw new PolicyLoadError("no policies found: everything would be denied");
    return new PolicyEngine(policies);
  }

  decide(req: PolicyRequest): PolicyDecision {
    const key = canonicalJson(req);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const decision = this.evaluate(req);
    if (this.cache.size >= PolicyEngine.CACHE_SIZE)
      this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, decision);
    return decision;
  }

  private evaluate(req: PolicyRequest): PolicyDecision {
    const principal = { type: `${NS}::User`, id: req.identity.user };
    const user = {
      uid: principal,
      attrs: { userId: req.identity.user, tenant: req.identity.tenant, client: req.identity.client },
      parents: req.identity.roles.map((r) => ({ type: `${NS}::Role`, id: r })),
    };
    const resourceEntity = resourceOf(req);
    // Policies were validated strictly against the schema at load, and requests are built here from typed
    // values, so evaluation skips per-request schema checks (they doubled the cost). Errors still deny.
    const answer = cedarWasm().statefulIsAuthorized({
      principal,
      action: { type: `${NS}::Action`, id: req.action },
      resource: resourceEntity.uid,
      context: { scopes: req.identity.scopes, env: req.identity.env, targetTenant: req.targetTenant },
      entities: [user, resourceEntity],
      preparsedPolicySetId: this.setId,
    });
    if (answer.type !== "success")
      return { allow: false, policyIds: [], errors: answer.errors.map((e) => e.message) };
    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
    return {
      allow: decision === "allow" && errors.length === 0,
      policyIds: [...diagnostics.reason].sort(),
      errors,
    };
  }
}

function resourceOf(req: PolicyRequest): CedarWasm.EntityJson {
  switch (req.action) {
    case "read_record":
      return {
        uid: { type: `${NS}::Record`, id: `${req.record.recordType}/${req.record.id}` },
        attrs: { recordType: req.record.recordType, tenant: req.record.tenant },
        parents: [],
      };
    case "approve":
      return {
        uid: { type: `${NS}::Subject`, id: `${req.subject.subjectType}/${req.subject.id}` },
        attrs: {
          subjectType: req.subject.subjectType,
          tenant: req.subject.tenant,
          owner: req.subject.owner,
          authors: [...new Set([req.subject.owner, ...req.subject.authors])].sort(),
        },
        parents: [],
      };
    case "console_view":
    case "console_act":
      return { uid: { type: `${NS}::ConsoleArea`, id: req.area }, attrs: { area: req.area }, parents: [] };
    default:
      return {
        uid: { type: `${NS}::Tool`, id: `${req.tool.server}/${req.tool.name}` },
        attrs: { ...req.tool },
        parents: [],
      };
  }
}

function messages(errors: Array<{ message: string; help?: string | null }>): string {
  return errors.map((e) => e.message + (e.help ? ` (${e.help})` : "")).join("; ");
}

/** Every policy by @id when all files parse, their ids are present and unique and the set validates; else undefined. */
function policiesIfValid(
  files: Array<{ path: string; text: string }>,
  schema: string,
): Record<string, string> | undefined {
  const policies: Record<string, string> = {};
  for (const { text } of files) {
    const parts = policyParts(text);
    if (!parts) return undefined;
    for (const [id, policy] of parts) {
      if (policies[id]) return undefined;
      policies[id] = policy;
    }
  }
  return validationProblem(policies, schema) === undefined ? policies : undefined;
}

/** The original, file-by-file load: the first problem throws, naming its file. */
function policiesFileByFile(
  files: Array<{ path: string; text: string }>,
  schema: string,
): Record<string, string> {
  const policies: Record<string, string> = {};
  for (const { path, text } of files) {
    for (const [id, policy] of splitPolicyFile(path, text, schema)) {
      if (policies[id])
        throw new PolicyLoadError(`${path}: policy id "${id}" is already used by another policy`);
      policies[id] = policy;
    }
  }
  return policies;
}

/** One file's policies keyed by @id, or undefined when it does not parse or a policy has no @id. */
function policyParts(text: string): Array<[string, string]> | undefined {
  const cedar = cedarWasm();
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== "success") return undefined;
  const out: Array<[string, string]> = [];
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    const id = json.type === "success" ? json.json.annotations?.id : undefined;
    if (!id) return undefined;
    out.push([id, policy]);
  }
  return out;
}

/** Why `policies` fail strict validation against `schema`, or undefined when they pass. */
function validationProblem(policies: Record<string, string>, schema: string): string | undefined {
  const check = cedarWasm().validate({
    schema,
    policies: { staticPolicies: policies },
    validationSettings: { mode: "strict" },
  });
  if (check.type !== "success") return messages(check.errors);
  if (check.validationErrors.length > 0) {
    return check.validationErrors
      .map((e) => `${e.policyId}: ${e.error.message}${e.error.help ? ` (${e.error.help})` : ""}`)
      .join("; ");
  }
  return undefined;
}

/** Splits one file into single policies keyed by their @id, validating the file against the schema. */
function splitPolicyFile(path: string, text: string, schema: string): Array<[string, string]> {
  const cedar = cedarWasm();
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== "success") throw new PolicyLoadError(`${path}: ${messages(parts.errors)}`);
  const out: Array<[string, string]> = [];
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    const id = json.type === "success" ? json.json.annotations?.id : undefined;
    if (!id)
      throw new PolicyLoadError(`${path}: every policy needs an @id("…") annotation (${basename(path)})`);
    out.push([id, policy]);
  }
  const problem = validationProblem(Object.fromEntries(out), schema);
  if (problem !== undefined) throw new PolicyLoadError(`${path}: ${problem}`);
  return out;
}
