import type { ServerResponse } from "node:http";
import { ApprovalError, type ApprovalSubject, type Identity } from "@gatehouse/governance";
import { z } from "zod";
import type { Governance } from "./governance-context.ts";
import { newTraceContext } from "./trace-context.ts";

/** How a server lets people review and approve what its send tools will send. */
export interface ApprovalSource<S> {
  /** The scope an approver's token must carry, e.g. tickets:approve. */
  scope: string;
  /** The subject and a human-readable preview of exactly what would be sent; undefined when unknown. */
  load(
    id: string,
    services: S,
  ): Promise<{ subject: ApprovalSubject; preview: Record<string, unknown> } | undefined>;
}

export interface ApprovalRoutes {
  scope: string;
  handle(
    method: string,
    id: string,
    body: { text: string; tooLarge: boolean },
    identity: Identity,
    res: ServerResponse,
  ): Promise<void>;
}

const decisionBody = z
  .object({
    decision: z.enum(["approve", "reject"]),
    content_hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "content_hash is the SHA-256 shown by GET /approvals/<id>"),
    reason: z.string().max(500).optional(),
    // The decision the approver saw (GET's latest_decision.id, or null): a stale or replayed request fails.
    previous_decision: z
      .string({
        error: (i) =>
          i.input === undefined
            ? "required: the latest_decision.id shown by GET /approvals/<id>, or null when it showed none"
            : undefined,
      })
      .max(64)
      .nullable(),
  })
  .strict();

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/**
 * GET /approvals/<id> shows the approver exactly what would be sent and its hash; POST records an
 * approval or rejection of that hash. Not an MCP tool on purpose: an agent must never approve. Every
 * decision, and every refused attempt, is audited.
 */
export function approvalRoutes<S>(
  serverName: string,
  source: ApprovalSource<S>,
  services: S,
  gov: Governance,
): ApprovalRoutes {
  return {
    scope: source.scope,
    async handle(method, id, body, identity, res) {
      const loaded = await source.load(id, services);
      if (!loaded)
        return json(res, 404, { error: "not_found", error_description: `nothing to approve with id ${id}` });
      const { subject, preview } = loaded;
      // Reviewing another tenant's draft is refused by the same policy as reading any record of it.
      const visible = gov.policy.decide({
        action: "read_record",
        identity,
        record: { recordType: subject.subjectType, id, tenant: subject.tenant },
        targetTenant: subject.tenant,
      });
      if (!visible.allow) {
        await audit("approval.refused", `not in tenant ${subject.tenant}`);
        return json(res, 403, {
          error: "forbidden",
          error_description: `${subject.subjectType} ${id} is in tenant ${subject.tenant}; you may approve in ${identity.tenant}`,
        });
      }
      if (method === "GET") {
        // Whether an approval is in force for this content, whoever is looking (the sender rule is the send's).
        const [current, latest] = await Promise.all([
          gov.approvals.usableFor(subject),
          gov.approvals.latest(subject),
        ]);
        return json(res, 200, {
          subject: {
            type: subject.subjectType,
            id,
            tenant: subject.tenant,
            author: subject.owner,
            authors: subject.authors,
          },
          content_hash: subject.contentHash,
          preview,
          approved: current.ok,
          // A decision names the one it follows (POST previous_decision): a replayed request cannot re-decide.
          latest_decision: latest
            ? {
                id: latest.id,
                decision: latest.decision,
                approver: latest.approver,
                content_hash: latest.content_hash,
                decided_at: latest.created_at,
                expires_at: latest.expires_at,
              }
            : null,
          ...(subject.closed ? { closed: subject.closed } : {}),
        });
      }
      if (method !== "POST") return json(res, 405, { error: "method_not_allowed" });
      // Deciding is a person's act, throttled like any call (per person, tenant and server).
      const rate = await gov.limits.consume(identity, `${serverName}/approvals`);
      if (!rate.ok && rate.bucket === "unavailable") {
        // Counters unreachable: refuse (fail closed) and say why, not "too many".
        await audit("approval.refused", "rate limits unavailable", undefined, {
          reason: rate.reason,
          retryAfterSeconds: rate.retryAfterSeconds,
        });
        res.setHeader("retry-after", String(rate.retryAfterSeconds));
        return json(res, 503, { error: "temporarily_unavailable", error_description: rate.reason });
      }
      if (!rate.ok) {
        await audit("approval.refused", `rate limited (${rate.bucket})`, undefined, {
          retryAfterSeconds: rate.retryAfterSeconds,
        });
        res.setHeader("retry-after", String(rate.retryAfterSeconds));
        return json(res, 429, {
          error: "rate_limited",
          error_description: `too many decisions for this ${rate.bucket}; retry after ${rate.retryAfterSeconds} s`,
        });
      }
      if (body.tooLarge)
        return json(res, 413, { error: "invalid_request", error_description: "request body too large" });
      let parsed: z.infer<typeof decisionBody>;
      try {
        parsed = decisionBody.parse(JSON.parse(body.text || "{}"));
      } catch (err) {
        const message =
          err instanceof z.ZodError
            ? err.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")
            : "the body is not valid JSON";
        await audit("approval.refused", "invalid request", undefined, { message });
        return json(res, 400, { error: "invalid_request", error_description: message });
      }
      try {
        const record = await gov.approvals.decide(
          subject,
          identity,
          parsed.decision === "approve" ? "approved" : "rejected",
          parsed.content_hash,
          parsed.previous_decision,
          parsed.reason,
        );
        await audit(
          parsed.decision === "approve" ? "approval.granted" : "approval.rejected",
          "ok",
          record.id,
          { contentHash: record.content_hash, author: subject.owner, expiresAt: record.expires_at },
        );
        return json(res, 200, {
          approval_id: record.id,
          decision: record.decision,
          content_hash: record.content_hash,
          expires_at: record.expires_at,
        });
      } catch (err) {
        if (!(err instanceof ApprovalError)) throw err;
        await audit("approval.refused", err.message, undefined, { status: err.status }, err.policyIds);
        return json(res, err.status, {
          error: err.status === 409 ? "conflict" : "forbidden",
          error_description: err.message,
        });
      }

      async function audit(
        type: "approval.granted" | "approval.rejected" | "approval.refused",
        outcome: string,
        approvalId?: string,
        detail: Record<string, unknown> = {},
        policyIds: string[] = [],
      ) {
        const trace = newTraceContext({});
        await gov.audit.append({
          type,
          server: serverName,
          identity,
          approvalId,
          policyIds,
          decision: type === "approval.refused" ? "deny" : "allow",
          outcome,
          detail: { subject: `${subject.subjectType}/${subject.id}`, ...detail },
          correlationId: trace.correlationId,
          traceId: trace.traceId,
          spanId: trace.spanId,
        });
      }
    },
  };
}
