import type { Identity } from "@gatehouse/governance";
import { html } from "hono/html";
import type { Area } from "../console-policy.ts";
import type { PendingDraft } from "../pending-drafts.ts";
import type { ApprovalView } from "../ticket-send-approvals.ts";
import { type Html, layout } from "./layout.ts";

export function approvalsPage(opts: {
  identity: Identity;
  areas: Area[];
  tenantScope: string | null;
  drafts: PendingDraft[];
}): Html {
  return layout({
    title: "Approvals",
    identity: opts.identity,
    areas: opts.areas,
    current: "approvals",
    body: html`<h1>Approvals inbox</h1>
      <p class="muted">
        Ticket drafts not yet sent ${opts.tenantScope ? `in tenant ${opts.tenantScope}` : "in every tenant"}. A send needs
        an approval of exactly the current content by someone who wrote none of it.
      </p>
      <table>
        <thead>
          <tr><th>draft</th><th>tenant</th><th>summary</th><th>drafted by</th><th>last change</th><th>content hash</th><th>decision</th></tr>
        </thead>
        <tbody>
          ${opts.drafts.map(
            (d) => html`<tr data-testid="pending" data-draft="${d.id}">
              <td><a href="/approvals/${encodeURIComponent(d.id)}">${d.id}</a></td>
              <td>${d.tenant}</td>
              <td>${d.summary}</td>
              <td>${d.createdBy}</td>
              <td>${d.updatedAt}</td>
              <td><code>${d.contentHash.slice(0, 16)}…</code></td>
              <td>${d.status === "sending" ? "being sent" : d.decision ? `${d.decision.decision} by ${d.decision.approver}` : "awaiting approval"}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${opts.drafts.length ? "" : html`<p class="muted">Nothing waits for a decision.</p>`}`,
  });
}

export function approvalPage(opts: {
  identity: Identity;
  areas: Area[];
  draftId: string;
  view: ApprovalView;
  message?: { ok: boolean; text: string };
}): Html {
  const v = opts.view;
  const draft = (v.preview.draft ?? {}) as Record<string, unknown>;
  const str = (x: unknown) =>
    x === null || x === undefined ? "-" : typeof x === "string" ? x : JSON.stringify(x);
  return layout({
    title: `Approve ${opts.draftId}`,
    identity: opts.identity,
    areas: opts.areas,
    current: "approvals",
    body: html`<h1>Draft ${opts.draftId}</h1>
      ${
        opts.message
          ? html`<p class="${opts.message.ok ? "ok" : "bad"}" data-testid="decision-message">${opts.message.text}</p>`
          : ""
      }
      <div class="card">
        <p>
          tenant <strong>${v.subject.tenant}</strong>, drafted by <strong>${v.subject.author}</strong>${(v.subject.authors ?? []).length > 1 ? `, edited by ${(v.subject.authors ?? []).slice(1).join(", ")}` : ""}
        </p>
        <p>content hash <code data-testid="content-hash">${v.content_hash}</code></p>
        <p>
          ${
            v.latest_decision
              ? `decision in force: ${v.latest_decision.decision} by ${v.latest_decision.approver}${v.latest_decision.expires_at ? ` (until ${v.latest_decision.expires_at})` : ""}`
              : "no decision yet"
          }
          ${v.closed ? html`<br /><strong>${v.closed}</strong>` : ""}
        </p>
      </div>
      <h2>What will be sent</h2>
      <table data-testid="preview">
        <tr><th>Jira</th><td>${draft.comment_on ? `a comment on ${str(draft.comment_on)}` : `a new ${str(draft.issue_type)} in ${str(draft.project)}`}</td></tr>
        <tr><th>summary</th><td>${str(draft.summary)}</td></tr>
        <tr><th>priority</th><td>${str(draft.priority)}</td></tr>
        <tr><th>labels</th><td>${str(draft.labels)}</td></tr>
        <tr><th>description</th><td><pre>${str(draft.description)}</pre></td></tr>
      </table>
      <h2>The request to Jira, exactly</h2>
      <pre data-testid="jira-request">${JSON.stringify(v.preview.jira_request ?? null, null, 2)}</pre>
      <form method="post" action="/approvals/${encodeURIComponent(opts.draftId)}" class="card">
        <input type="hidden" name="content_hash" value="${v.content_hash}" />
        <input type="hidden" name="previous_decision" value="${v.latest_decision?.id ?? ""}" />
        <label>reason <input name="reason" size="60" maxlength="500" /></label>
        <button name="decision" value="approve">Approve</button>
        <button name="decision" value="reject">Reject</button>
      </form>`,
  });
}
