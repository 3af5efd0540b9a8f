import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { canonicalJson } from "./canonical-json.ts";

// Node 20's V8 (11.3) can crash ("unreachable code" in the deoptimizer) when it inlines hot JS→Wasm
// calls such as Cedar's evaluator; the crash needs thousands of calls under load. Turning the inlining
// off avoids it; decisions are cached below, so the cost is small. Harmless on newer Node versions.
setFlagsFromString("--no-turbo-inline-js-wasm-calls");

import type { Identity } from "./identity.ts";

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
  | { action: "approve"; identity: Identity; subject: SubjectResource; targetTenant: string };

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
    const set = cedar.preparsePolicySet(this.setId, { staticPolicies: policies });
    if (set.type !== "success") throw new PolicyLoadError(`policies failed to load: ${messages(set.errors)}`);
  }

  /** Loads the base schema and policies plus every `*.cedar` file in `dirs`; any problem names the file. */
  static load(dirs: string[]): PolicyEngine {
    const schema = readFileSync(join(BASE_POLICY_DIR, "gatehouse.cedarschema"), "utf8");
    const policies: Record<string, string> = {};
    for (const dir of [BASE_POLICY_DIR, ...dirs]) {
      let files: string[];
      try {
        files = readdirSync(dir)
          .filter((f) => f.endsWith(".cedar"))
          .sort();
      } catch {
        throw new PolicyLoadError(`policy folder ${dir} cannot be read`);
      }
      for (const file of files) {
        const path = join(dir, file);
        for (const [id, text] of splitPolicyFile(path, readFileSync(path, "utf8"), schema)) {
          if (policies[id])
            throw new PolicyLoadError(`${path}: policy id "${id}" is already used by another policy`);
          policies[id] = text;
        }
      }
    }
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
    const answer = cedar.statefulIsAuthorized({
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

function resourceOf(req: PolicyRequest): cedar.EntityJson {
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

/** Splits one file into single policies keyed by their @id, validating the file against the schema. */
function splitPolicyFile(path: string, text: string, schema: string): Array<[string, string]> {
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
  const check = cedar.validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(out) },
    validationSettings: { mode: "strict" },
  });
  if (check.type !== "success") throw new PolicyLoadError(`${path}: ${messages(check.errors)}`);
  if (check.validationErrors.length > 0) {
    throw new PolicyLoadError(
      `${path}: ${check.validationErrors.map((e) => `${e.policyId}: ${e.error.message}${e.error.help ? ` (${e.error.help})` : ""}`).join("; ")}`,
    );
  }
  return out;
}
