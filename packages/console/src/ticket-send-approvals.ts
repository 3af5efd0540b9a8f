import { z } from "zod";

const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** What ticket-send's GET /approvals/<id> shows: exactly what would be sent, and its hash. */
export const approvalViewSchema = z.object({
  subject: z.object({
    type: z.string(),
    id: z.string(),
    tenant: z.string(),
    author: z.string(),
    authors: z.array(z.string()).optional(),
  }),
  content_hash: z.string(),
  preview: z.record(z.string(), z.unknown()),
  approved: z.boolean(),
  latest_decision: z
    .object({
      id: z.string(),
      decision: z.string(),
      approver: z.string(),
      decided_at: z.string().optional(),
      expires_at: z.string().optional(),
    })
    .nullable(),
  closed: z.string().optional(),
});
export type ApprovalView = z.infer<typeof approvalViewSchema>;

export type Answer<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

/**
 * Approvals are decided where every other approval is: ticket-send's approval endpoint, which applies the
 * rules (approver role and tenant by Cedar, four eyes, hash-bound, single use, expiry) and audits the
 * decision. The console acts there as the signed-in person: it exchanges the person's console token for a
 * short-lived ticket-send token (RFC 8693, as business does downstream), never a token of its own.
 */
export class TicketSendApprovals {
  private readonly opts: {
    issuer: string;
    ticketSendUrl: string;
    exchangeClient: { id: string; secret: string };
  };

  constructor(opts: TicketSendApprovals["opts"]) {
    this.opts = opts;
  }

  private async tokenFor(consoleToken: string): Promise<Answer<string>> {
    const { id, secret } = this.opts.exchangeClient;
    let res: Response;
    try {
      res = await fetch(`${this.opts.issuer}/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: consoleToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          resource: this.opts.ticketSendUrl,
        }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      return {
        ok: false,
        status: 503,
        message: `the identity provider is not reachable at ${this.opts.issuer}`,
      };
    }
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      error_description?: string;
    };
    if (!res.ok || !body.access_token)
      return {
        ok: false,
        status: 403,
        message: `the identity provider refused a ticket-send token: ${body.error_description ?? res.status}`,
      };
    return { ok: true, value: body.access_token };
  }

  private async call(
    consoleToken: string,
    draftId: string,
    init: { method: "GET" } | { method: "POST"; body: unknown },
  ): Promise<Answer<unknown>> {
    const token = await this.tokenFor(consoleToken);
    if (!token.ok) return token;
    let res: Response;
    try {
      res = await fetch(new URL(`/approvals/${encodeURIComponent(draftId)}`, this.opts.ticketSendUrl), {
        method: init.method,
        headers: { authorization: `Bearer ${token.value}`, "content-type": "application/json" },
        ...(init.method === "POST" ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      return {
        ok: false,
        status: 503,
        message: `ticket-send is not reachable at ${this.opts.ticketSendUrl}`,
      };
    }
    const body = (await res.json().catch(() => ({}))) as { error_description?: string };
    if (!res.ok)
      return {
        ok: false,
        status: res.status,
        message: body.error_description ?? `ticket-send answered ${res.status}`,
      };
    return { ok: true, value: body };
  }

  async show(consoleToken: string, draftId: string): Promise<Answer<ApprovalView>> {
    const answer = await this.call(consoleToken, draftId, { method: "GET" });
    if (!answer.ok) return answer;
    const parsed = approvalViewSchema.safeParse(answer.value);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : {
          ok: false,
          status: 502,
          message: "ticket-send answered an approval view the console does not understand",
        };
  }

  async decide(
    consoleToken: string,
    draftId: string,
    decision: {
      decision: "approve" | "reject";
      content_hash: string;
      previous_decision: string | null;
      reason?: string;
    },
  ): Promise<Answer<{ approval_id: string; expires_at?: string }>> {
    const answer = await this.call(consoleToken, draftId, { method: "POST", body: decision });
    return answer as Answer<{ approval_id: string; expires_at?: string }>;
  }
}
