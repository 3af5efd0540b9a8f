import type { SeededUser } from "../identities.ts";

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
/** Everything a client or a request supplies (client names, URLs, scopes) is escaped before it is shown. */
export const html = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => escapes[c] ?? c);

/** No scripts, nothing loaded from elsewhere, never framed (clickjacking a consent screen is the classic attack). */
export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)} · Gatehouse sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.3rem}.note{color:#57606a;font-size:.9rem}label{display:block;margin:.4rem 0}
button{font:inherit;padding:.45rem 1rem;margin-right:.5rem}code{background:#f3f4f6;padding:0 .2rem}
ul{padding-left:1.2rem}.denied{color:#8c1d18}
</style></head><body>
<p class="note">Gatehouse sandbox identity provider — for local use only.</p>
${body}
</body></html>`;
}

export function loginPage(opts: {
  uid: string;
  clientName: string;
  users: Record<string, SeededUser>;
  error?: string;
}): string {
  const people = Object.entries(opts.users)
    .map(
      ([id, u], i) =>
        `<label><input type="radio" name="user" value="${html(id)}"${i === 0 ? " checked" : ""}> <b>${html(id)}</b> — ${html(u.name)}, ${html(u.roles.join(", "))}, tenant ${html(u.tenant)}</label>`,
    )
    .join("\n");
  return page(
    "Sign in",
    `<h1>Sign in to continue to ${html(opts.clientName)}</h1>
${opts.error ? `<p class="denied">${html(opts.error)}</p>` : ""}
<form method="post" action="/interaction/${html(opts.uid)}/login">
${people}
<p><button type="submit">Sign in</button></p>
</form>
<form method="post" action="/interaction/${html(opts.uid)}/abort"><button type="submit">Cancel</button></form>
<p class="note">These are the seeded sandbox people (<code>packages/sandbox/identities.json</code>); there are no passwords
because this issuer only listens on loopback. In production your own identity provider signs people in.</p>`,
  );
}

export function consentPage(opts: {
  uid: string;
  user: string;
  clientName: string;
  clientId: string;
  redirectOrigin: string;
  resources: Array<{ resource: string; granted: string[]; refused: string[] }>;
}): string {
  const resources = opts.resources
    .map(
      (r) => `<li><code>${html(r.resource)}</code>
<ul>${r.granted.map((s) => `<li>${html(s)}</li>`).join("")}${r.refused
        .map((s) => `<li class="denied">${html(s)} — not available to your role</li>`)
        .join("")}${r.granted.length + r.refused.length === 0 ? "<li>no scopes</li>" : ""}</ul></li>`,
    )
    .join("\n");
  if (opts.resources.every((r) => r.granted.length === 0)) {
    // oidc-provider refuses a grant without scopes, so offer no Allow button that could only fail.
    return page(
      "Nothing to allow",
      `<h1>${html(opts.user)} cannot use this server</h1>
<p>${html(opts.clientName)} asks for scopes your role does not have:</p>
<ul>${resources}</ul>
<form method="post" action="/interaction/${html(opts.uid)}/abort"><button type="submit">Back to ${html(opts.clientName)}</button></form>
<p class="note">Roles and their scopes are in <code>packages/sandbox/identities.json</code>; sign in as someone else to try another role.</p>`,
    );
  }
  return page(
    "Allow access",
    `<h1>${html(opts.clientName)} wants to act as ${html(opts.user)}</h1>
<p>Client <code>${html(opts.clientId)}</code>, returning to <code>${html(opts.redirectOrigin)}</code>, asks for:</p>
<ul>${resources}</ul>
<form method="post" action="/interaction/${html(opts.uid)}/consent">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="note">Each server still checks every call against its policies; a scope only lets the client ask.</p>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(title, `<h1>${html(title)}</h1><p>${html(message)}</p>`);
}
