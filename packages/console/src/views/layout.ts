import type { Identity } from "@gatehouse/governance";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Area } from "../console-policy.ts";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const LABELS: Record<Area, string> = {
  audit: "Audit",
  trace: "Trace",
  chain: "Chain integrity",
  approvals: "Approvals",
  killswitches: "Kill switches",
  access: "Access",
};
const HOME: Record<Area, string> = {
  audit: "/audit",
  trace: "/trace",
  chain: "/chain",
  approvals: "/approvals",
  killswitches: "/killswitches",
  access: "/access",
};

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1.5rem;align-items:center;background:#1d2330;color:#fff;padding:.6rem 1.2rem}
header a{color:#cfd8ea;text-decoration:none}header a.on{color:#fff;font-weight:600}
header .who{margin-left:auto;display:flex;gap:.8rem;align-items:center}
main{padding:1rem 1.2rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6eb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}code,pre{font:12px ui-monospace,monospace}
pre{background:#fff;border:1px solid #e3e6eb;padding:.6rem;overflow:auto;white-space:pre-wrap}
.deny,.bad{color:#a4161a}.ok{color:#17603a}.muted{color:#69707d}form.inline{display:inline}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:.8rem}.filters input{width:9rem}
.card{background:#fff;border:1px solid #e3e6eb;padding:.8rem 1rem;margin-bottom:1rem}
button{cursor:pointer}.tree ul{list-style:none;padding-left:1.4rem;border-left:1px dashed #c5cbd3}
.tree li{margin:.3rem 0}.bar{display:inline-block;height:.6rem;background:#4b6cb7;vertical-align:middle}
`;

export function layout(opts: {
  title: string;
  identity?: Identity;
  areas?: Area[];
  current?: Area;
  body: Html;
  script?: string;
}): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${opts.title} · Gatehouse console</title>
    <style>
      ${STYLE}
    </style>
  </head>
  <body>
    <header>
      <strong>Gatehouse console</strong>
      ${(opts.areas ?? []).map(
        (a) => html`<a href="${HOME[a]}" class="${a === opts.current ? "on" : ""}">${LABELS[a]}</a>`,
      )}
      ${
        opts.identity
          ? html`<span class="who"
            ><span data-testid="who"
              >${opts.identity.user} (${opts.identity.roles.join(", ")}, tenant ${opts.identity.tenant})</span
            >
            <form class="inline" method="post" action="/auth/sign-out"><button>Sign out</button></form></span
          >`
          : ""
      }
    </header>
    <main>${opts.body}</main>
    ${opts.script ? html`<script src="${opts.script}"></script>` : ""}
  </body>
</html>`;
}

/** A page that says what happened and what to do, nothing else. */
export function messagePage(opts: {
  title: string;
  message: string;
  identity?: Identity;
  areas?: Area[];
}): Html {
  return layout({
    title: opts.title,
    identity: opts.identity,
    areas: opts.areas,
    body: html`<h1>${opts.title}</h1>
      <p data-testid="message">${opts.message}</p>`,
  });
}

export function signInPage(next: string): Html {
  return layout({
    title: "Sign in",
    body: html`<h1>Sign in</h1>
      <p>The console shows the audit trail, approvals and kill switches to the people whose role allows it.</p>
      <form method="get" action="/auth/sign-in">
        <input type="hidden" name="next" value="${next}" />
        <button>Sign in with the identity provider</button>
      </form>`,
  });
}
