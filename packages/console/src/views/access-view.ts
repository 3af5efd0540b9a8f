import type { Identity, PersonAccess, Revocation } from "@gatehouse/governance";
import { html } from "hono/html";
import type { Area } from "../console-policy.ts";
import { type Html, layout } from "./layout.ts";

const revokeForm = (kind: "subject" | "client" | "token", value: string, label: string) =>
  html`<form class="inline" method="post" action="/access/revoke">
    <input type="hidden" name="kind" value="${kind}" /><input type="hidden" name="value" value="${value}" />
    <input name="reason" placeholder="reason" required maxlength="500" size="14" />
    <button>${label}</button>
  </form>`;

const revokedNote = (r: Revocation | undefined) =>
  r ? html`<span class="bad">revoked by ${r.revokedBy} at ${r.revokedAt} (${r.reason})</span>` : "";

function person(p: PersonAccess, clientsToo: boolean): Html {
  return html`<div class="card" data-testid="person" data-person="${p.person}">
    <h2>${p.person} <span class="muted">tenant ${p.tenant}</span> ${revokedNote(p.revoked)}</h2>
    <p>
      servers ${p.servers.join(", ")} · from ${p.transports.join(", ")} in ${p.environments.join(", ")} · first seen
      ${p.firstSeen}, last seen ${p.lastSeen}
    </p>
    ${p.revoked ? "" : revokeForm("subject", p.person, `Revoke ${p.person}`)}
    <h3>Clients</h3>
    <table>
      <tr><th>client id</th><th>name</th><th>servers</th><th>last seen</th><th></th></tr>
      ${p.clients.map(
        (c) => html`<tr data-testid="client" data-client="${c.clientId}">
          <td><code>${c.clientId}</code></td><td>${c.name ?? "-"}</td><td>${c.servers.join(", ")}</td><td>${c.lastSeen}</td>
          <td>${c.revoked ? revokedNote(c.revoked) : clientsToo ? revokeForm("client", c.clientId, "Revoke client") : ""}</td>
        </tr>`,
      )}
    </table>
    <h3>Tokens in use</h3>
    <table>
      <tr><th>token id</th><th>state</th><th>client</th><th>servers</th><th>expires</th><th>last seen</th><th></th></tr>
      ${p.tokens.map(
        (t) => html`<tr data-testid="token" data-token="${t.tokenId}">
          <td><code>${t.tokenId}</code></td>
          <td>${t.revoked ? "revoked" : t.live ? "live" : "expired"}</td>
          <td><code>${t.clientId}</code></td><td>${t.servers.join(", ")}</td><td>${t.expiresAt ?? "never"}</td><td>${t.lastSeen}</td>
          <td>${t.revoked || !t.live ? "" : revokeForm("token", t.tokenId, "Revoke token")}</td>
        </tr>`,
      )}
    </table>
  </div>`;
}

export function accessPage(opts: {
  identity: Identity;
  areas: Area[];
  people: PersonAccess[];
  /** Whether the person may revoke clients (every tenant's reach); a tenant's approver may not. */
  clientsToo: boolean;
  message?: { ok: boolean; text: string };
}): Html {
  return layout({
    title: "Access",
    identity: opts.identity,
    areas: opts.areas,
    current: "access",
    body: html`<h1>Access</h1>
      <p class="muted">
        Who reached which server through which client, and the tokens in use. Revoking a person, a client or a
        token makes every server refuse its access tokens within the revocation list's cache time (audited as a
        denial at the identity stage); the identity provider drops its grants and refresh tokens.
      </p>
      ${opts.message ? html`<p class="${opts.message.ok ? "ok" : "bad"}" data-testid="message">${opts.message.text}</p>` : ""}
      ${opts.people.length ? opts.people.map((p) => person(p, opts.clientsToo)) : html`<p class="muted">Nobody has called a server yet.</p>`}`,
  });
}
