import type { Identity } from "@gatehouse/governance";
import { html } from "hono/html";
import type { Area } from "../console-policy.ts";
import type { TraceNode } from "../trace-tree.ts";
import { type Html, layout } from "./layout.ts";

function node(n: TraceNode, totalMs: number): Html {
  const width = Math.max(2, Math.round((n.durationMs / Math.max(totalMs, 1)) * 240));
  const offset = Math.round((n.startMs / Math.max(totalMs, 1)) * 240);
  const outcome = n.events[n.events.length - 1]!;
  return html`<li data-testid="span" data-server="${n.server}">
    <strong>${n.server}</strong> · ${n.tool ?? "-"} · ${outcome.outcome ?? outcome.type}
    <span class="muted">+${n.startMs} ms, ${n.durationMs} ms</span>
    <span style="display:inline-block;width:${offset}px"></span><span class="bar" style="width:${width}px"></span>
    <div class="muted">
      ${n.events.map(
        (e) =>
          html`<a href="/audit/events/${encodeURIComponent(e.id)}">#${e.seq} ${e.type}</a>
            ${e.user_id ? `(${e.user_id})` : ""} `,
      )}
    </div>
    ${n.children.length ? html`<ul>${n.children.map((c) => node(c, totalMs))}</ul>` : ""}
  </li>`;
}

export function tracePage(opts: {
  identity: Identity;
  areas: Area[];
  correlationId: string;
  roots: TraceNode[];
  eventCount: number;
  servers: number;
}): Html {
  const total = Math.max(1, ...flatten(opts.roots).map((n) => n.startMs + n.durationMs));
  return layout({
    title: `Trace ${opts.correlationId}`,
    identity: opts.identity,
    areas: opts.areas,
    current: "trace",
    body: html`<h1>Trace</h1>
      <form method="get" action="/trace"><input name="id" value="${opts.correlationId}" size="48" /> <button>Show</button></form>
      <p data-testid="trace-summary">
        correlation <code>${opts.correlationId}</code>: ${opts.eventCount} events on ${opts.servers} server(s), ${total} ms
      </p>
      <div class="tree"><ul>${opts.roots.map((r) => node(r, total))}</ul></div>`,
  });
}

export function traceSearchPage(opts: { identity: Identity; areas: Area[]; message?: string }): Html {
  return layout({
    title: "Trace",
    identity: opts.identity,
    areas: opts.areas,
    current: "trace",
    body: html`<h1>Trace</h1>
      <p>A correlation id (every tool result's <code>_meta["io.gatehouse/correlation-id"]</code>, and a link from every audit event).</p>
      <form method="get" action="/trace"><input name="id" size="48" /> <button>Show</button></form>
      ${opts.message ? html`<p class="bad" data-testid="message">${opts.message}</p>` : ""}`,
  });
}

function flatten(nodes: TraceNode[]): TraceNode[] {
  return nodes.flatMap((n) => [n, ...flatten(n.children)]);
}
