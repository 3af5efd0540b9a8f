import type { Identity, VerifyResult } from "@gatehouse/governance";
import { html } from "hono/html";
import type { Area } from "../console-policy.ts";
import { type Html, layout } from "./layout.ts";

export function chainPage(opts: {
  identity: Identity;
  areas: Area[];
  result: VerifyResult;
  checkedAt: string;
  ms: number;
}): Html {
  const r = opts.result;
  return layout({
    title: "Chain integrity",
    identity: opts.identity,
    areas: opts.areas,
    current: "chain",
    body: html`<h1>Chain integrity</h1>
      <div class="card" data-testid="chain-result">
        ${
          r.ok
            ? html`<p class="ok"><strong>Intact.</strong> ${r.events} events checked; head #${r.headSeq}</p>
              <p>head hash <code data-testid="head-hash">${r.headHash}</code></p>
              <p class="muted">
                Truncation of the newest events shows only against a head recorded elsewhere: compare this hash
                with the one you anchored.
              </p>`
            : html`<p class="bad"><strong>BROKEN</strong> at event #${String(r.seq)}: ${r.problem}</p>
              <p>
                first bad event:
                <a data-testid="first-bad" href="/audit/events/${encodeURIComponent(r.id)}">${r.id}</a>
              </p>
              <p>${r.events} events before it verified.</p>`
        }
        <p class="muted">checked at ${opts.checkedAt} in ${opts.ms} ms</p>
      </div>
      <form method="post" action="/chain/verify"><button>Verify again</button></form>`,
  });
}
