import type { Identity } from "@gatehouse/governance";
import { html } from "hono/html";
import type { Area } from "../console-policy.ts";
import { type Html, layout } from "./layout.ts";

export interface ToolSwitch {
  server: string;
  tool: string;
  kind: string;
  /** Switched off (by server/tool or by bare tool name), with who, when and why. */
  off: { key: string; by: string; at: string; reason: string | null } | null;
}

export function killSwitchesPage(opts: {
  identity: Identity;
  areas: Area[];
  tools: ToolSwitch[];
  ttlMs: number;
  message?: { ok: boolean; text: string };
}): Html {
  return layout({
    title: "Kill switches",
    identity: opts.identity,
    areas: opts.areas,
    current: "killswitches",
    body: html`<h1>Kill switches</h1>
      <p class="muted">A switched-off tool refuses every call on every replica within ${opts.ttlMs} ms; nothing restarts.</p>
      ${opts.message ? html`<p class="${opts.message.ok ? "ok" : "bad"}" data-testid="message">${opts.message.text}</p>` : ""}
      <table>
        <thead><tr><th>server</th><th>tool</th><th>kind</th><th>state</th><th>change (reason required)</th></tr></thead>
        <tbody>
          ${opts.tools.map(
            (t) => html`<tr data-testid="tool" data-tool="${t.server}/${t.tool}">
              <td>${t.server}</td>
              <td>${t.tool}</td>
              <td>${t.kind}</td>
              <td class="${t.off ? "bad" : "ok"}">
                ${t.off ? `off (${t.off.key}) by ${t.off.by} at ${t.off.at}${t.off.reason ? `: ${t.off.reason}` : ""}` : "on"}
              </td>
              <td>
                <form class="inline" method="post" action="/killswitches">
                  <input type="hidden" name="tool" value="${t.off ? t.off.key : `${t.server}/${t.tool}`}" />
                  <input type="hidden" name="state" value="${t.off ? "on" : "off"}" />
                  <input name="reason" placeholder="reason" required maxlength="500" />
                  <button>${t.off ? "Switch on" : "Switch off"}</button>
                </form>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>`,
  });
}
