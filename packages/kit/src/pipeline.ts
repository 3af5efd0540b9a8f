import {
  type ApprovalSubject,
  type AuditEventInput,
  filterToSchema,
  fingerprint,
  type Identity,
  redactAndCap,
  redactForAudit,
} from "@gatehouse/governance";
import type { Logger } from "pino";
import type { z } from "zod";
import { MAX_ARGUMENT_DEPTH, nestsDeeperThan } from "./argument-depth.ts";
import type { CallOutcome, Stage } from "./call-outcome.ts";
import type { RecordRef, ToolContext, ToolDefinition } from "./define-tool.ts";
import type { Governance } from "./governance-context.ts";
import { CallTelemetry } from "./telemetry/tracer.ts";
import { ToolError } from "./tool-error.ts";
import { auditTraceFields, type TraceContext } from "./trace-context.ts";

/** The outcome of one governed call, independent of the MCP SDK's types. */
export interface PipelineResult {
  isError: boolean;
  text: string;
  structuredContent?: Record<string, unknown>;
  auditId: string;
  outcome: CallOutcome;
}

export interface CallInput {
  server: string;
  tool: ToolDefinition<unknown, z.ZodObject, z.ZodObject>;
  identity: Identity;
  args: unknown;
  trace: TraceContext;
  prompt?: string;
  signal: AbortSignal;
  /** When the caller's time is up (epoch ms); `signal` aborts at the latest then. */
  deadline: number;
  /** Passed to handlers of servers that exchange tokens. */
  callerToken?: string;
  /** How the call arrived, for the access inventory. */
  transport?: "http" | "stdio";
}

const MAX_PROMPT = 2000;

/**
 * The one enforcement point. Every tool of every server runs through here, in this order:
 * intent audited → identity not revoked → input validated → kill switch → rate limit → policy → approval (send tools) →
 * handler → output schema →
 * record policy → redaction and size cap → outcome audited. If the intent cannot be recorded, nothing runs.
 */
export async function runGovernedCall<S>(
  gov: Governance,
  services: S,
  log: Logger,
  call: CallInput,
): Promise<PipelineResult> {
  // One span per call (with the call's own trace ids) and one per stage; no-ops when nothing is exported.
  const tel = new CallTelemetry({
    server: call.server,
    tool: call.tool.name,
    kind: call.tool.kind,
    tenant: call.identity.tenant,
    ids: call.trace,
  });
  try {
    const result = await governedCall(gov, services, log, call, tel);
    tel.end({
      status: result.outcome.status,
      stage: result.outcome.stage,
      decision: result.outcome.decision,
    });
    return result;
  } catch (err) {
    tel.fail(err);
    throw err;
  }
}

async function governedCall<S>(
  gov: Governance,
  services: S,
  log: Logger,
  call: CallInput,
  tel: CallTelemetry,
): Promise<PipelineResult> {
  const started = performance.now();
  const { tool, identity, trace } = call;
  // Hostile shapes are refused before anything walks them; the intent is still recorded (as a summary).
  const tooDeep = nestsDeeperThan(call.args, MAX_ARGUMENT_DEPTH);
  const args = tooDeep ? undefined : withDefaultTenant(tool, call.args, identity);
  const base = {
    server: call.server,
    tool: tool.name,
    identity,
    ...auditTraceFields(trace),
  } satisfies Partial<AuditEventInput>;

  const requested = await tel.audit(() =>
    gov.audit.append({
      ...base,
      type: "tool.requested",
      args: tooDeep
        ? { "(refused)": `nested deeper than ${MAX_ARGUMENT_DEPTH} levels` }
        : redactForAudit(args),
      argsFingerprint: tooDeep ? undefined : fingerprint(args),
      prompt: call.prompt ? (redactForAudit(call.prompt.slice(0, MAX_PROMPT)) as string) : undefined,
      detail: { kind: tool.kind, scope: tool.scope },
    }),
  );

  /** A ToolError's message is meant for the caller; anything else is logged and hidden behind the audit id. */
  const failureMessage = (err: unknown, what: string): string => {
    if (err instanceof ToolError) return err.message;
    log.error({ err, audit: requested.id, tool: tool.name }, what);
    return `${tool.name} failed; the error was recorded as audit event ${requested.id}`;
  };
  const annotations: Record<string, unknown> = {};
  let approvalId: string | undefined;
  const finish = async (
    type: "tool.completed" | "tool.denied" | "tool.failed",
    stage: Stage,
    text: string,
    extra: {
      policyIds?: string[];
      decision?: "allow" | "deny";
      detail?: Record<string, unknown>;
      structured?: Record<string, unknown>;
      /** The error behind a failure, for its machine-readable code. */
      error?: unknown;
      retryAfterSeconds?: number;
      revoked?: CallOutcome["revoked"];
    } = {},
  ): Promise<PipelineResult> => {
    const event = await tel.audit(() =>
      gov.audit.append({
        ...base,
        type,
        decision: extra.decision,
        policyIds: extra.policyIds,
        approvalId,
        outcome:
          type === "tool.completed" ? "ok" : `${type === "tool.denied" ? "denied" : "error"} at ${stage}`,
        detail: {
          stage,
          requestedEvent: requested.id,
          ...annotations,
          ...extra.detail,
          ...(type === "tool.completed" ? {} : { message: text }),
        },
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
      }),
    );
    // The audit trail is the record of every call; the log line is for debugging only.
    log.debug({ audit: event.id, tool: tool.name, outcome: event.outcome }, "tool call");
    const code = extra.revoked ? "revoked" : extra.error instanceof ToolError ? extra.error.code : undefined;
    return {
      isError: type !== "tool.completed",
      text,
      structuredContent: extra.structured,
      auditId: event.id,
      outcome: {
        status: type === "tool.completed" ? "completed" : type === "tool.denied" ? "denied" : "failed",
        stage,
        ...(extra.decision ? { decision: extra.decision } : {}),
        ...(extra.policyIds ? { policyIds: extra.policyIds } : {}),
        ...(extra.retryAfterSeconds !== undefined ? { retryAfterSeconds: extra.retryAfterSeconds } : {}),
        ...(code ? { code } : {}),
        ...(extra.revoked ? { revoked: extra.revoked } : {}),
      },
    };
  };

  /** Record policy, for the record a call acts on (5a) and every record in a result (8): the refusal, if any. */
  const recordRefusal = (rec: RecordRef, forTenant: string, verb: "act in" | "read") => {
    const rd = gov.policy.decide({
      action: "read_record",
      identity,
      record: { recordType: rec.type, id: rec.id, tenant: rec.tenant },
      targetTenant: forTenant,
    });
    if (rd.allow) return undefined;
    return finish(
      "tool.denied",
      "record_policy",
      `${rec.type} ${rec.id} is in tenant ${rec.tenant}; you may ${verb} ${identity.tenant}`,
      {
        decision: "deny",
        policyIds: rd.policyIds,
        detail: { record: `${rec.type}/${rec.id}`, recordTenant: rec.tenant },
      },
    );
  };

  // 0. Identity: the token was verified (and may sit in the verifier's cache until it expires); a person,
  // client or token revoked since is refused here, within the revocation list's cache TTL, on every server.
  let revocation: Awaited<ReturnType<Governance["revocations"]["check"]>>;
  try {
    revocation = await tel.stage("identity", () => gov.revocations.check(identity));
  } catch (err) {
    // Unknown whether the caller is revoked: refuse (fail closed), as the rate stage does without counters.
    log.error({ err, audit: requested.id }, "revocation list unreadable");
    return finish(
      "tool.denied",
      "identity",
      "access could not be checked against the revocation list; try again shortly",
      { decision: "deny", detail: { reason: "revocation list unavailable" } },
    );
  }
  if (revocation) {
    const what = { subject: "this person's", client: "this client's", token: "this access token's" }[
      revocation.kind
    ];
    return finish(
      "tool.denied",
      "identity",
      `${what} access was revoked by an operator at ${revocation.revokedAt}; ask an operator to restore it`,
      {
        decision: "deny",
        revoked: revocation.kind,
        detail: {
          revocation: revocation.id,
          revoked: revocation.kind,
          revokedBy: revocation.revokedBy,
          revokedAt: revocation.revokedAt,
        },
      },
    );
  }
  // Seen, for the access inventory: a write only the first time and then once a minute per combination.
  if (call.transport) {
    await gov.accessSeen
      .record(identity, { server: call.server, transport: call.transport })
      .catch((err: unknown) => log.warn({ err }, "could not note access for the inventory"));
  }

  // 1. Input: validated against the tool's schema; unknown fields are refused, not ignored.
  if (tooDeep) {
    return finish(
      "tool.failed",
      "input",
      `invalid arguments for ${tool.name}: they nest deeper than ${MAX_ARGUMENT_DEPTH} levels; send the flat arguments its input schema describes`,
    );
  }
  const parsed = tel.stage("input", () => strictInput(tool).safeParse(args));
  if (!parsed.success) {
    return finish(
      "tool.failed",
      "input",
      `invalid arguments for ${tool.name}: ${describeIssues(parsed.error)}`,
    );
  }
  const input = parsed.data as Record<string, unknown>;
  const targetTenant = typeof input.tenant === "string" ? input.tenant : identity.tenant;

  // 2. Kill switch: takes effect in every process within the cache TTL, no restart.
  const kill = await tel.stage("kill_switch", () => gov.killSwitches.check(call.server, tool.name));
  if (kill.killed) {
    return finish(
      "tool.denied",
      "kill_switch",
      `${tool.name} is switched off by an operator${kill.reason ? `: ${kill.reason}` : ""}; try again later`,
      { decision: "deny" },
    );
  }

  // 3. Rate limits per user, tenant and tool. Counters out of reach refuse the call (fail closed).
  const rate = await tel.stage("rate_limit", () =>
    gov.limits.consume(identity, `${call.server}/${tool.name}`),
  );
  if (!rate.ok) {
    const unavailable = rate.bucket === "unavailable" ? rate.reason : undefined;
    return finish(
      "tool.denied",
      "rate_limit",
      `${unavailable ?? `rate limit reached for this ${rate.bucket}`}; retry after ${rate.retryAfterSeconds} s`,
      {
        decision: "deny",
        retryAfterSeconds: rate.retryAfterSeconds,
        detail: {
          bucket: rate.bucket,
          retryAfterSeconds: rate.retryAfterSeconds,
          ...(unavailable ? { reason: unavailable } : {}),
        },
      },
    );
  }

  // 4. Policy: may this identity call this tool for this tenant?
  const toolResource = { server: call.server, name: tool.name, kind: tool.kind, scope: tool.scope };
  const decision = tel.stage("policy", () =>
    gov.policy.decide({ action: "call_tool", identity, tool: toolResource, targetTenant }),
  );
  if (!decision.allow) {
    return finish("tool.denied", "policy", denialMessage(tool, identity, targetTenant), {
      decision: "deny",
      policyIds: decision.policyIds,
      detail: { targetTenant, ...(decision.errors.length ? { policyErrors: decision.errors } : {}) },
    });
  }

  // Whether this caller may see the tool's PII: decided once, told to the handler (so it never searches
  // on hidden fields) and applied at egress.
  const allowPii =
    !!tool.piiScope &&
    identity.scopes.includes(tool.piiScope) &&
    gov.policy.decide({
      action: "see_pii",
      identity,
      tool: { ...toolResource, scope: tool.piiScope },
      targetTenant,
    }).allow;

  // 5. Approval (send tools): the decision in force is an approval of exactly this content, unexpired, by
  // none of its authors. The handler claims it again atomically with what it sends.
  const baseCtx = {
    identity,
    services,
    log,
    signal: call.signal,
    deadline: call.deadline,
    piiVisible: allowPii,
    correlationId: trace.correlationId,
    trace,
    callerToken: call.callerToken,
    annotate: (key: string, value: unknown) => {
      annotations[key] = value;
    },
  };
  // 5a. The record the call acts on must be the caller's to touch, before anything changes.
  if (tool.target) {
    let target: RecordRef | undefined;
    try {
      target = await tel.stage("record_policy", () => tool.target!(input, baseCtx as ToolContext<unknown>));
    } catch (err) {
      return finish("tool.failed", "record_policy", failureMessage(err, "target lookup failed"), {
        decision: "allow",
        error: err,
        policyIds: decision.policyIds,
      });
    }
    const refused = target && recordRefusal(target, target.tenant, "act in");
    if (refused) return refused;
  }

  let approval: ToolContext<S>["approval"];
  if (tool.kind === "send") {
    let subject: ApprovalSubject | null;
    try {
      subject = await tel.stage("approval", () => tool.approval!(input, baseCtx as ToolContext<unknown>));
    } catch (err) {
      return finish("tool.failed", "approval", failureMessage(err, "approval lookup failed"), {
        decision: "allow",
        error: err,
        policyIds: decision.policyIds,
      });
    }
    if (subject) {
      annotations.subject = `${subject.subjectType}/${subject.id}`;
      const usable = await tel.stage("approval", () => gov.approvals.usableFor(subject, identity));
      if (!usable.ok) {
        // The agent cannot approve; it can tell its person where to (the console's page for this subject).
        const where = gov.consoleUrl
          ? `; a person with the approver role reviews and approves it at ${gov.consoleUrl}/approvals/${encodeURIComponent(subject.id)}`
          : "";
        return finish("tool.denied", "approval", `${usable.reason}${where}`, {
          decision: "deny",
          policyIds: decision.policyIds,
          detail: { contentHash: subject.contentHash },
        });
      }
      approvalId = usable.approval.id;
      const id = usable.approval.id;
      approval = {
        id,
        approver: usable.approval.approver,
        claim: (db, snapshot) => gov.approvals.claim(db, id, snapshot, identity),
      };
    }
  }

  // 6. Handler: the tool's own domain work, with a deadline tied to the request.
  let output: unknown;
  try {
    // The handler's span is active while it runs: its upstream and downstream calls are its children.
    output = await tel.stage("handler", () =>
      untilAborted(
        tool.handler(input, { ...baseCtx, approval } as ToolContext<unknown>),
        call.signal,
        `${tool.name} did not finish in time; try again, or narrow the request`,
      ),
    );
  } catch (err) {
    return finish("tool.failed", "handler", failureMessage(err, "tool handler failed"), {
      decision: "allow",
      error: err,
      policyIds: decision.policyIds,
    });
  }

  // 7. Output schema: only declared fields, with the declared types, go any further.
  const filtered = tel.stage("egress", () => filterToSchema(tool.output, output));
  if (!filtered.ok) {
    return finish("tool.failed", "egress", `${tool.name}: ${filtered.message}`, {
      decision: "allow",
      policyIds: decision.policyIds,
    });
  }

  // 8. Record policy: every record in the result must be visible to this caller.
  const records = tool.records ? tool.records(filtered.value as never) : [];
  for (const rec of distinctByTenant(records)) {
    const refused = recordRefusal(rec, targetTenant, "read");
    if (refused) return refused;
  }

  // 9. Egress: PII/secret redaction by scope and policy, size cap.
  const egress = tel.stage("egress", () =>
    redactAndCap(filtered.value, { allowPii, maxBytes: gov.maxResultBytes }),
  );
  if (!egress.ok) {
    return finish("tool.failed", "egress", `${tool.name}: ${egress.message}`, {
      decision: "allow",
      policyIds: decision.policyIds,
    });
  }
  return finish("tool.completed", "done", JSON.stringify(egress.value), {
    decision: "allow",
    policyIds: decision.policyIds,
    structured: egress.value,
    detail: {
      records: records.length,
      bytes: egress.bytes,
      redactions: egress.redactions,
      droppedFields: filtered.droppedFields,
      pii: allowPii,
    },
  });
}

const strictInputs = new WeakMap<object, z.ZodObject>();

/** The tool's input schema refusing unknown fields, built once per tool. */
function strictInput(tool: ToolDefinition<unknown, z.ZodObject, z.ZodObject>): z.ZodObject {
  let schema = strictInputs.get(tool);
  if (!schema) {
    schema = tool.input.strict();
    strictInputs.set(tool, schema);
  }
  return schema;
}

/** Never waits past the request's deadline, even for a handler that ignores its signal. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, message: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new ToolError(message));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ToolError(message));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function withDefaultTenant(
  tool: ToolDefinition<unknown, z.ZodObject, z.ZodObject>,
  args: unknown,
  identity: Identity,
): unknown {
  if (!("tenant" in tool.input.shape)) return args;
  if (
    args &&
    typeof args === "object" &&
    !Array.isArray(args) &&
    (args as Record<string, unknown>).tenant === undefined
  ) {
    return { ...args, tenant: identity.tenant };
  }
  return args ?? { tenant: identity.tenant };
}

function distinctByTenant(records: RecordRef[]): RecordRef[] {
  const seen = new Map<string, RecordRef>();
  for (const r of records)
    if (!seen.has(`${r.type}\u0000${r.tenant}`)) seen.set(`${r.type}\u0000${r.tenant}`, r);
  return [...seen.values()];
}

function denialMessage(
  tool: ToolDefinition<unknown, z.ZodObject, z.ZodObject>,
  identity: Identity,
  targetTenant: string,
): string {
  if (!identity.scopes.includes(tool.scope))
    return `${tool.name} needs the ${tool.scope} scope, which your token does not carry`;
  if (targetTenant !== identity.tenant)
    return `tenant ${targetTenant} is not yours; you may read ${identity.tenant}`;
  return `your roles (${identity.roles.join(", ")}) may not call ${tool.name}`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const path = i.path.length ? i.path.join(".") : "(arguments)";
      if (i.code === "unrecognized_keys")
        return `unknown field(s) ${i.keys.map((k) => `"${k.slice(0, 40)}"`).join(", ")}`;
      return `${path}: ${i.message}`;
    })
    .join("; ");
}
