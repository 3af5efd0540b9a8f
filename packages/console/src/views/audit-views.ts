import type { AuditRecord, Identity } from "@gatehouse/governance";
import { html } from "hono/html";
import type { AuditFilter } from "../audit-query.ts";
import type { Area } from "../console-policy.ts";
import { type Html, layout } from "./layout.ts";

const who = (e: AuditRecord) => (e.user_id ? `${e.user_id}@${e.tenant ?? "?"}` : "(no identity)");
const stageOf = (e: AuditRecord): string | undefined => {
  try {
    const d = JSON.parse(e.detail) as { stage?: unknown };
    return typeof d.stage === "string" ? d.stage : undefined;
  } catch {
    return undefined;
  }
};

/** One timeline row; the live stream sends exactly this markup. */
export function auditRow(e: AuditRecord): Html {
  const outcome = e.outcome ?? e.decision ?? "";
  const stage = stageOf(e);
  return html`<tr data-seq="${e.seq}">
    <td>${e.seq}</td>
    <td>${e.ts}</td>
    <td class="${e.decision === "deny" ? "deny" : ""}">${e.type}</td>
    <td>${e.server}</td>
    <td>${e.tool ?? "-"}</td>
    <td>${who(e)}</td>
    <td>${outcome}${stage ? ` (${stage})` : ""}</td>
    <td>${e.latency_ms === null ? "" : `${e.latency_ms} ms`}</td>
    <td>
      <a href="/audit/events/${encodeURIComponent(e.id)}">record</a> ·
      <a href="/trace/${encodeURIComponent(e.correlation_id)}">trace</a>
    </td>
  </tr>`;
}

export function auditPage(opts: {
  identity: Identity;
  areas: Area[];
  filter: AuditFilter;
  tenantScope: string | null;
  events: AuditRecord[];
  streamQuery: string;
  error?: string;
}): Html {
  const f = opts.filter;
  const field = (name: keyof AuditFilter, label: string, value: unknown) =>
    html`<label>${label} <input name="${name}" value="${value === undefined ? "" : String(value)}" /></label>`;
  const newest = opts.events[0]?.seq ?? 0;
  return layout({
    title: "Audit",
    identity: opts.identity,
    areas: opts.areas,
    current: "audit",
    script: "/static/timeline.js",
    body: html`<h1>Audit timeline</h1>
      <p class="muted">
        Newest first; new events appear as they are written.
        ${opts.tenantScope ? `Tenant ${opts.tenantScope} only (your policy).` : "Every tenant."}
      </p>
      ${opts.error ? html`<p class="bad" data-testid="filter-error">${opts.error}</p>` : ""}
      <form class="filters" method="get" action="/audit">
        ${field("person", "person", f.person)} ${field("tenant", "tenant", f.tenant)}
        ${field("server", "server", f.server)} ${field("tool", "tool", f.tool)}
        ${field("outcome", "outcome/stage", f.outcome)} ${field("from", "from", f.from)} ${field("to", "to", f.to)}
        <button>Filter</button> <a href="/audit">clear</a>
      </form>
      <table>
        <thead>
          <tr>
            <th>#</th><th>time</th><th>event</th><th>server</th><th>tool</th><th>person</th><th>outcome</th
            ><th>latency</th><th></th>
          </tr>
        </thead>
        <tbody id="timeline" data-stream="/audit/stream?${opts.streamQuery}" data-after="${newest}">
          ${opts.events.map(auditRow)}
        </tbody>
      </table>
      ${
        opts.events.length
          ? html`<p>
            <a href="/audit?${opts.streamQuery}${opts.streamQuery ? "&" : ""}before=${opts.events[opts.events.length - 1]!.seq}"
              >older</a
            >
          </p>`
          : html`<p class="muted">No events match.</p>`
      }`,
  });
}

const pretty = (text: string | null) => {
  if (text === null) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

export function eventPage(opts: { identity: Identity; areas: Area[]; event: AuditRecord }): Html {
  const e = opts.event;
  const rows: Array<[string, unknown]> = [
    ["sequence", e.seq],
    ["id", e.id],
    ["time", e.ts],
    ["type", e.type],
    ["server", e.server],
    ["tool", e.tool],
    ["person", e.user_id],
    ["roles", e.roles],
    ["tenant", e.tenant],
    ["client", e.client_id],
    ["environment", e.env],
    ["token id", e.token_id],
    ["decision", e.decision],
    ["policy ids", e.policy_ids],
    ["approval", e.approval_id],
    ["outcome", e.outcome],
    ["latency", e.latency_ms === null ? null : `${e.latency_ms} ms`],
    ["arguments fingerprint", e.args_fingerprint],
    ["prompt", e.prompt],
    ["correlation id", e.correlation_id],
    ["trace id", e.trace_id],
    ["span / parent", `${e.span_id} / ${e.parent_span_id ?? "-"}`],
    ["previous hash", e.prev_hash],
    ["hash", e.hash],
  ];
  return layout({
    title: `Event #${e.seq}`,
    identity: opts.identity,
    areas: opts.areas,
    current: "audit",
    body: html`<h1>Event #${e.seq}: ${e.type}</h1>
      <p><a href="/trace/${encodeURIComponent(e.correlation_id)}">trace of this request</a></p>
      <table data-testid="record">
        ${rows.map(([k, v]) => html`<tr><th>${k}</th><td><code>${v === null ? "-" : String(v)}</code></td></tr>`)}
      </table>
      <h2>Arguments as audited (redacted)</h2>
      <pre data-testid="args">${pretty(e.args)}</pre>
      <h2>Detail (stage, upstream metadata, redactions)</h2>
      <pre data-testid="detail">${pretty(e.detail)}</pre>`,
  });
}
