import { mintToken } from "@gatehouse/sandbox/issuer";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import { type CliContext, err, out, requireSeededUser } from "../context.ts";
import { defaultResourceUrl, findServer, UsageError } from "../servers.ts";

interface Preview {
  subject: { id: string; tenant: string; author: string; authors?: string[] };
  content_hash: string;
  latest_decision: { id: string; decision: string; approver: string } | null;
  preview: {
    draft: {
      project: string;
      issue_type: string;
      summary: string;
      description: string;
      comment_on: string | null;
    };
  };
}

/**
 * `gatehouse approve|reject <draft-id> --user carol [--reason …]`: reviews a draft as that person and
 * records the decision on ticket-send's approval endpoint, bound to the hash of what was shown.
 * With GATEHOUSE_TOKEN set, that token is used instead of a sandbox token.
 */
export async function approveCommand(
  ctx: CliContext,
  decision: "approve" | "reject",
  draftId: string | undefined,
  opts: { user?: string; reason?: string; server?: string },
): Promise<number> {
  if (!draftId || !/^dr_[A-Za-z0-9]{12}$/.test(draftId))
    throw new UsageError(`${decision} needs a draft id (dr_…), as shown by create_ticket_draft`);
  const server = findServer(opts.server ?? "ticket-send");
  const resource = process.env.GATEHOUSE_TICKET_SEND_URL ?? defaultResourceUrl(server);
  let token = process.env.GATEHOUSE_TOKEN;
  if (!token) {
    if (!opts.user)
      throw new UsageError(`${decision} needs --user <approver> (e.g. carol), or GATEHOUSE_TOKEN`);
    requireSeededUser(opts.user);
    token = await mintToken(await loadOrCreateIssuerKeys(ctx.dataDir), {
      issuer: ctx.issuer,
      user: opts.user,
      audience: resource,
      ttlSeconds: 300,
    });
  }
  const url = new URL(`/approvals/${draftId}`, resource).toString();
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  } catch {
    err(`ticket-send is not reachable at ${resource}: is \`pnpm start\` running?`);
    return 1;
  }
  const shown = (await res.json()) as Preview & { error_description?: string };
  if (!res.ok) {
    err(`cannot review ${draftId}: ${shown.error_description ?? res.status}`);
    return 1;
  }
  const d = shown.preview.draft;
  out(
    `draft ${draftId} by ${(shown.subject.authors ?? [shown.subject.author]).join(", ")} (tenant ${shown.subject.tenant})`,
  );
  out(
    `  ${d.comment_on ? `comment on ${d.comment_on}` : `new ${d.issue_type} in ${d.project}`}: ${d.summary}`,
  );
  for (const line of d.description.split("\n").slice(0, 20)) out(`  | ${line}`);
  out(`  content hash ${shown.content_hash}`);
  if (shown.latest_decision)
    out(`  last decision: ${shown.latest_decision.decision} by ${shown.latest_decision.approver}`);
  const post = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      decision,
      content_hash: shown.content_hash,
      previous_decision: shown.latest_decision?.id ?? null,
      ...(opts.reason ? { reason: opts.reason } : {}),
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const result = (await post.json()) as {
    approval_id?: string;
    expires_at?: string;
    error_description?: string;
  };
  if (!post.ok) {
    err(`${decision} refused: ${result.error_description ?? post.status}`);
    return 1;
  }
  out(
    `${decision === "approve" ? "approved" : "rejected"} ${draftId} (${result.approval_id}${decision === "approve" ? `, valid until ${result.expires_at}` : ""})`,
  );
  return 0;
}
