import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type RunningConsole, startConsole } from "@gatehouse/console";
import { serverScopes } from "@gatehouse/kit";
import { connectHttp, createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENTRIES, type ServerName, startAllServers } from "../support/all-servers.ts";
import { textOf } from "../support/results.ts";
import { definitionOf, EMEA_ORDER, NA_ORDER } from "../support/servers.ts";

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// CI installs Chromium (.ci/run), so there this suite always runs; a developer without it is told why it skipped.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`CI needs Chromium at ${CHROMIUM} for the console browser suite`);

/** GATEHOUSE_SCREENSHOTS=1 writes each view to docs/console/<name>.png for docs/console.md. */
const SHOTS =
  process.env.GATEHOUSE_SCREENSHOTS === "1"
    ? join(import.meta.dirname, "..", "..", "docs", "console")
    : undefined;

/** Markup an agent could put in tool arguments: it must show as text everywhere, never run. */
const HOSTILE = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;

/**
 * The operator console in a real browser (Chromium through playwright-core) against every server: sign-in
 * through the sandbox issuer's OAuth pages as dave, carol, erin and alice, each view, approving a real
 * draft that then lands in the Jira stand-in, switching a tool off, and the attacks the console must refuse
 * (each refused and audited).
 */
// Generous per-test bounds: on a loaded shared machine one sign-in alone has taken 50 s.
describe.skipIf(!haveChromium)("the operator console in a browser", { timeout: 180_000 }, () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  let operatorConsole: RunningConsole;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    // The console's port first: the servers name its URL in every refusal that waits for an approval.
    const port = await freePort();
    const consoleUrl = `http://127.0.0.1:${port}`;
    // Five servers start at once on a shared 2-core machine: give each two minutes, not the default 30 s.
    world = await startAllServers(
      { ...env, env: { ...env.env, GATEHOUSE_CONSOLE_URL: consoleUrl } },
      { startTimeoutMs: 120_000 },
    );
    const names = Object.keys(ENTRIES) as ServerName[];
    const definitions = await Promise.all(names.map((n) => definitionOf(ENTRIES[n])));
    const ticketSend = world.servers["ticket-send"].url;
    const secret = randomBytes(24).toString("hex");
    operatorConsole = await startConsole({
      config: {
        host: "127.0.0.1",
        port,
        issuer: env.issuer.url,
        exchangeClient: { id: "console", secret },
        ticketSendUrl: ticketSend,
      },
      store: env.store,
      tools: definitions.flatMap((d) => d.tools.map((t) => ({ server: d.name, tool: t.name, kind: t.kind }))),
    });
    // As `gatehouse start` registers them: the console as a resource people sign in to, its exchange client,
    // and ticket-send with its approval scope.
    env.issuer.registerResource(operatorConsole.url, { scopes: ["console:use"] });
    env.issuer.registerExchangeClient("console", {
      secret,
      resource: operatorConsole.url,
      targets: [ticketSend],
    });
    const sendDef = definitions[names.indexOf("ticket-send")]!;
    env.issuer.registerResource(ticketSend, { scopes: [...serverScopes(sendDef), "tickets:approve"] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Playwright gives every launch a fresh, temporary profile (its own --user-data-dir).
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await operatorConsole?.close();
    await world?.stop();
    await env?.close();
  });

  const url = (path: string) => `${operatorConsole.url}${path}`;
  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  /** A fresh browser (no cookies) signed in as `user` through the issuer's sign-in and consent pages. */
  const signIn = async (user: string, start = "/"): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("dialog", (d) => {
      throw new Error(`a dialog opened: ${d.message()}`);
    });
    await page.goto(url(start));
    if (start === "/") await page.getByRole("button", { name: "Sign in with the identity provider" }).click();
    await page.waitForURL(`${env.issuer.url}/interaction/**`);
    await page.getByRole("radio", { name: new RegExp(`^${user} —`) }).check();
    await page.getByRole("button", { name: "Sign in" }).click();
    // Consent is asked once per grant; a person who already allowed the console goes straight back.
    const consent = page.getByRole("heading", { name: `Gatehouse console wants to act as ${user}` });
    const back = page.waitForURL(`${operatorConsole.url}/**`);
    await Promise.race([consent.waitFor(), back]);
    if (await consent.isVisible()) await page.getByRole("button", { name: "Allow" }).click();
    await back;
    return page;
  };

  /** dave's one signed-in browser, shared by the admin tests (sign-in itself is covered for each person). */
  let davePage: Page | undefined;
  const asDave = async (start = "/"): Promise<Page> => {
    if (!davePage) {
      davePage = await signIn("dave", start);
      return davePage;
    }
    await davePage.goto(url(start));
    return davePage;
  };

  const mcp = async (user: string, server: ServerName) => {
    const s = world.servers[server];
    const c = await connectHttp(s.url, await env.mint(user, { audience: s.url }));
    clients.push(c);
    return c;
  };

  /** The newest console refusal, once it is written. */
  const lastConsoleRefusal = async () =>
    (await env.audit.latest(30)).filter((e) => e.type === "console.refused").at(-1);

  /** Posts a form from the page's own origin (cookies included), as a script calling the API directly would. */
  const postForm = (page: Page, path: string, form: Record<string, string>) =>
    page.request.post(url(path), { form, headers: { origin: operatorConsole.url }, maxRedirects: 0 });

  const newDraft = async (author: Client, summary: string, description = "Customer waits for a refund.") => {
    const r = await author.callTool({
      name: "create_ticket_draft",
      arguments: { project: "SUP", issue_type: "Task", summary, description },
    });
    expect(r.isError, textOf(r)).toBe(false);
    return (r.structuredContent as { draft: { draft_id: string; content_hash: string } }).draft;
  };

  it("refuses the console API to a request without a signed-in person, and audits it", async () => {
    const res = await fetch(url("/api/audit"));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_description: string }).error_description).toContain("sign in");
    const post = await fetch(url("/killswitches"), {
      method: "POST",
      headers: { origin: operatorConsole.url, "content-type": "application/x-www-form-urlencoded" },
      body: "tool=order-lookup/get_order&state=off&reason=x",
      redirect: "manual",
    });
    expect(post.status).toBe(401);
    const refusal = await lastConsoleRefusal();
    expect(refusal).toMatchObject({
      user_id: null,
      outcome: "not signed in",
      decision: "deny",
      tool: "/killswitches",
    });
    // A page asks the person to sign in instead.
    const page = await fetch(url("/audit"), { redirect: "manual" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/auth/sign-in?next=%2Faudit");
  });

  it("refuses alice (support agent) with a clear page, and her direct calls to the console API, audited", async () => {
    const page = await signIn("alice");
    await expect(page.getByTestId("message").textContent()).resolves.toContain(
      "alice (support_agent) may not use the console",
    );
    await shot(page, "refused");
    const refusal = await lastConsoleRefusal();
    expect(refusal).toMatchObject({ user_id: "alice", outcome: "forbidden", decision: "deny" });
    expect(JSON.parse(refusal!.detail).reason).toContain("may not use the console");

    // Her session cookie, a same-origin request, the console's own API: still Cedar says no.
    const api = await page.request.get(url("/api/audit"));
    expect(api.status()).toBe(403);
    const before = (await env.audit.latest(1))[0]!.seq;
    const sw = await postForm(page, "/killswitches", {
      tool: "order-lookup/get_order",
      state: "off",
      reason: "alice tries",
    });
    expect(sw.status()).toBe(403);
    const after = await env.audit.after(before);
    expect(after.find((e) => e.type === "console.refused")).toMatchObject({
      user_id: "alice",
      tool: "killswitches",
    });
    expect(after.some((e) => e.type === "killswitch.changed")).toBe(false);
    const approve = await postForm(page, "/approvals/dr_AAAAAAAAAAAA", { decision: "approve" });
    expect([403, 404]).toContain(approve.status());
  });

  let draftId = "";
  let hostileCorrelation = "";

  it("shows an agent's hostile arguments as text in every view (nothing runs)", async () => {
    const alice = await mcp("alice", "order-lookup");
    const r = await alice.callTool({ name: "get_order", arguments: { order_id: HOSTILE } });
    expect(r.isError).toBe(true);
    hostileCorrelation = String((r._meta as Record<string, unknown>)["io.gatehouse/correlation-id"]);
    const drafts = await mcp("alice", "ticket-draft");
    draftId = (await newDraft(drafts, `Refund ${HOSTILE}`, `Please refund.\n${HOSTILE}`)).draft_id;

    const page = await asDave("/audit");
    // The live timeline gets the next event through its stream, rendered by the same template.
    await page.locator('html[data-live="open"]').waitFor({ state: "attached" });
    const again = await alice.callTool({ name: "get_order", arguments: { order_id: `${HOSTILE}2` } });
    expect(again.isError).toBe(true);
    const newest = (await env.audit.latest(1))[0]!.seq;
    await page.locator(`#timeline tr[data-seq="${newest}"]`).waitFor({ timeout: 10_000 });

    const event = (await env.audit.byCorrelation(hostileCorrelation)).find(
      (e) => e.type === "tool.requested",
    )!;
    await page.goto(url(`/audit/events/${event.id}`));
    await expect(page.getByTestId("args").textContent()).resolves.toContain(
      "<script>window.__pwned=1</script>",
    );
    await page.goto(url(`/trace/${hostileCorrelation}`));
    await page.getByTestId("trace-summary").waitFor();
    await page.goto(url(`/approvals/${draftId}`));
    await expect(page.getByTestId("preview").textContent()).resolves.toContain(`Refund ${HOSTILE}`);
    await page.goto(url("/approvals"));
    await expect(page.locator(`tr[data-draft="${draftId}"]`).textContent()).resolves.toContain(HOSTILE);
    // No view ran the script or the image handler, and no view holds such an element.
    expect(await page.evaluate("typeof window.__pwned")).toBe("undefined");
    expect(await page.locator("main script, main img").count()).toBe(0);
  });

  it("shows dave every view: timeline of all tenants, an event's record, a business trace across servers, the chain", async () => {
    const business = await mcp("dave", "business");
    const health = await business.callTool({
      name: "account_health",
      arguments: { account: "nordlicht-logistik.de" },
    });
    expect(health.isError, textOf(health)).toBe(false);
    const correlation = String((health._meta as Record<string, unknown>)["io.gatehouse/correlation-id"]);
    const bob = await mcp("bob", "order-lookup");
    expect((await bob.callTool({ name: "list_late_orders", arguments: { limit: 2 } })).isError).toBe(false);
    expect((await bob.callTool({ name: "get_order", arguments: { order_id: "not an order" } })).isError).toBe(
      true,
    );

    const page = await asDave();
    await page.waitForURL(url("/audit"));
    await expect(page.getByTestId("who").textContent()).resolves.toContain("dave (admin, tenant emea)");
    const tenants = await page.locator("#timeline tr td:nth-child(6)").allTextContents();
    expect(tenants.some((t) => t.endsWith("@na"))).toBe(true);
    expect(tenants.some((t) => t.endsWith("@emea"))).toBe(true);
    await shot(page, "audit-timeline");

    // Filters: one person, one outcome.
    await page.goto(url("/audit?person=bob&server=order-lookup"));
    const people = await page.locator("#timeline tr td:nth-child(6)").allTextContents();
    expect(people.length).toBeGreaterThan(0);
    expect(people.every((p) => p === "bob@na")).toBe(true);
    // Refused at the input stage: the stage is the filter.
    await page.goto(url("/audit?outcome=input"));
    const stages = await page.locator("#timeline tr td:nth-child(7)").allTextContents();
    expect(stages.length).toBeGreaterThan(0);
    expect(stages.every((t) => t.includes("(input)"))).toBe(true);
    await page.goto(url("/audit?from=yesterday"));
    await expect(page.getByTestId("filter-error").textContent()).resolves.toContain("from must be a date");

    // From the business call's event, its record, then its trace.
    await page.goto(url(`/audit?server=business&tool=account_health`));
    await page.locator("#timeline tr").first().getByRole("link", { name: "record" }).click();
    await expect(page.getByTestId("record").textContent()).resolves.toContain(correlation);
    await shot(page, "audit-event");
    await page.getByRole("link", { name: "trace of this request" }).click();
    await page.getByTestId("trace-summary").waitFor();
    const spans = page.getByTestId("span");
    const servers = await Promise.all((await spans.all()).map((s) => s.getAttribute("data-server")));
    expect(servers[0]).toBe("business");
    const shown = (await env.audit.byCorrelation(correlation)).map(
      (e) => `${e.server} ${e.type} ${e.outcome} ${e.detail}`,
    );
    // Every downstream call business made is a span beneath its own (on a loaded machine a branch can miss
    // its deadline and never reach its server, so at least two of the three).
    const downstream = [...new Set(servers.slice(1))];
    expect(downstream.length, `${textOf(health)}\n${shown.join("\n")}`).toBeGreaterThanOrEqual(2);
    for (const s of downstream) expect(["crm-read", "order-lookup", "ticket-draft"]).toContain(s);
    // The downstream spans are children of business's span.
    expect(await page.locator('[data-server="business"] [data-testid="span"]').count()).toBe(
      servers.length - 1,
    );
    await shot(page, "trace");

    await page.goto(url("/chain"));
    await expect(page.getByTestId("chain-result").textContent()).resolves.toContain("Intact.");
    const head = (await env.audit.latest(1))[0]!;
    const shownHead = await page.getByTestId("head-hash").textContent();
    expect([head.hash, ...(await env.audit.latest(3)).map((e) => e.hash)]).toContain(shownHead);
    await shot(page, "chain");
    const before = head.seq;
    await page.getByRole("button", { name: "Verify again" }).click();
    await page.getByTestId("chain-result").waitFor();
    const verified = (await env.audit.after(before)).find((e) => e.type === "console.chain_verified");
    expect(verified).toMatchObject({ user_id: "dave", outcome: "intact" });
  });

  it("names the first bad event when the chain was tampered with, and links it", async () => {
    const victim = (await env.audit.latest(5))[2]!;
    const original = victim.outcome;
    await env.store.db
      .updateTable("audit_events")
      .set({ outcome: "edited" })
      .where("id", "=", victim.id)
      .execute();
    try {
      const page = await asDave("/chain");
      await expect(page.getByTestId("chain-result").textContent()).resolves.toContain(
        `BROKEN at event #${victim.seq}`,
      );
      await page.getByTestId("first-bad").click();
      await expect(page.getByTestId("record").textContent()).resolves.toContain(victim.id);
    } finally {
      await env.store.db
        .updateTable("audit_events")
        .set({ outcome: original })
        .where("id", "=", victim.id)
        .execute();
    }
  });

  it("lets carol approve alice's draft in her inbox (alice's send then files exactly that in Jira) and follow alice's business call as a trace", async () => {
    const drafts = await mcp("alice", "ticket-draft");
    const draft = await newDraft(drafts, "Refund order SO-100001", "Customer was charged twice.");
    const sender = await mcp("alice", "ticket-send");
    const early = await sender.callTool({ name: "send_ticket", arguments: { draft_id: draft.draft_id } });
    expect(early.isError).toBe(true);
    expect(textOf(early)).toContain("has not been approved");
    // The agent is told where a person approves it; it cannot approve itself.
    expect(textOf(early)).toContain(`approves it at ${operatorConsole.url}/approvals/${draft.draft_id}`);

    const page = await signIn("carol");
    await page.waitForURL(url("/approvals"));
    // Carol's inbox holds her tenant's drafts only.
    const tenants = await page.locator('[data-testid="pending"] td:nth-child(2)').allTextContents();
    expect(tenants.length).toBeGreaterThan(0);
    expect(tenants.every((t) => t === "emea")).toBe(true);
    await shot(page, "approvals-inbox");
    await page.getByRole("link", { name: draft.draft_id }).click();
    await expect(page.getByTestId("content-hash").textContent()).resolves.toBe(draft.content_hash);
    await expect(page.getByTestId("jira-request").textContent()).resolves.toContain(
      "Customer was charged twice.",
    );
    await shot(page, "approval");
    await page.getByLabel("reason").fill("checked the order");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByTestId("decision-message").textContent()).resolves.toMatch(/^Approved as apr_/);
    const granted = (await env.audit.latest(20)).find((e) => e.type === "approval.granted");
    expect(granted).toMatchObject({ user_id: "carol", server: "ticket-send", client_id: "console" });

    const sent = await sender.callTool({ name: "send_ticket", arguments: { draft_id: draft.draft_id } });
    expect(sent.isError, textOf(sent)).toBe(false);
    const key = (sent.structuredContent as { jira_key: string; approved_by: string }).jira_key;
    expect((sent.structuredContent as { approved_by: string }).approved_by).toBe("carol");
    const filed = world.jira.issues().find((i) => i.key === key);
    expect(filed).toMatchObject({ summary: "Refund order SO-100001" });

    // The draft is closed for decisions once sent: ticket-send's rules still hold.
    await page.goto(url(`/approvals/${draft.draft_id}`));
    await expect(page.locator("main").textContent()).resolves.toContain("was already sent");

    // Carol follows alice's account_health call (her tenant's) as one tree across servers.
    const business = await mcp("alice", "business");
    const health = await business.callTool({
      name: "account_health",
      arguments: { account: "nordlicht-logistik.de" },
    });
    expect(health.isError, textOf(health)).toBe(false);
    const correlation = String((health._meta as Record<string, unknown>)["io.gatehouse/correlation-id"]);
    await page.goto(url(`/trace/${correlation}`));
    await page.getByTestId("trace-summary").waitFor();
    const servers = await Promise.all(
      (await page.getByTestId("span").all()).map((span) => span.getAttribute("data-server")),
    );
    expect(servers[0]).toBe("business");
    // At least two of the three branches (on a loaded machine one can miss its deadline, as above).
    expect(new Set(servers.slice(1)).size).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-server="business"] [data-testid="span"]').count()).toBe(
      servers.length - 1,
    );
  });

  it("refuses an approver of another tenant (erin, na) approving an emea draft, and audits it", async () => {
    const drafts = await mcp("alice", "ticket-draft");
    const draft = await newDraft(drafts, "Another refund", "Charged twice again.");
    const page = await signIn("erin");
    await page.waitForURL(url("/approvals"));
    expect(await page.locator(`tr[data-draft="${draft.draft_id}"]`).count()).toBe(0);
    await page.goto(url(`/approvals/${draft.draft_id}`));
    await expect(page.getByTestId("message").textContent()).resolves.toContain("is in tenant emea");
    const res = await postForm(page, `/approvals/${draft.draft_id}`, {
      decision: "approve",
      content_hash: draft.content_hash,
      previous_decision: "",
      reason: "looks fine",
    });
    expect(res.status()).toBe(403);
    const refusal = await lastConsoleRefusal();
    expect(refusal).toMatchObject({ user_id: "erin", tenant: "na", tool: "approvals", decision: "deny" });
    const decisions = await env.store.db
      .selectFrom("approvals")
      .selectAll()
      .where("subject_id", "=", draft.draft_id)
      .execute();
    expect(decisions).toEqual([]);
  });

  it("refuses a cross-site form post that rides dave's session (CSRF), and audits it", async () => {
    const page = await asDave();
    // An attacker's page on another origin of this machine (same site, so the browser sends the cookie).
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<form id="f" method="post" action="${url("/killswitches")}">
        <input name="tool" value="order-lookup/get_order"><input name="state" value="off"><input name="reason" value="csrf">
        </form><script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
    try {
      const before = (await env.audit.latest(1))[0]!.seq;
      const answer = page.waitForResponse((r) => r.url() === url("/killswitches"));
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      expect((await answer).status()).toBe(403);
      await expect(page.getByTestId("message").textContent()).resolves.toContain(
        "must come from the console's own pages",
      );
      const events = await env.audit.after(before);
      expect(events.find((e) => e.type === "console.refused")).toMatchObject({
        user_id: "dave",
        tool: "csrf",
      });
      expect(events.some((e) => e.type === "killswitch.changed")).toBe(false);
      expect(
        (await env.store.db.selectFrom("kill_switches").selectAll().execute()).filter((k) => k.enabled),
      ).toEqual([]);
    } finally {
      evil.close();
    }
  });

  it("lets dave switch a tool off with a reason: the next call is refused everywhere, and on again", async () => {
    const alice = await mcp("alice", "order-lookup");
    expect((await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } })).isError).toBe(
      false,
    );
    const page = await asDave("/killswitches");
    const row = page.locator('[data-tool="order-lookup/get_order"]');
    expect(await page.getByTestId("tool").count()).toBeGreaterThanOrEqual(10);
    await row.getByPlaceholder("reason").fill("orders database maintenance");
    await row.getByRole("button", { name: "Switch off" }).click();
    await expect(page.getByTestId("message").textContent()).resolves.toContain(
      "order-lookup/get_order switched off",
    );
    await shot(page, "killswitches");
    const changed = (await env.audit.latest(5)).find((e) => e.type === "killswitch.changed");
    expect(changed).toMatchObject({ user_id: "dave", tool: "order-lookup/get_order", outcome: "on" });

    // Servers re-read the switches within their TTL (1 s by default).
    let refused = "";
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      if (r.isError) refused = textOf(r);
      else await new Promise((res) => setTimeout(res, 250));
    }
    expect(refused).toMatch(/switched off|kill switch|disabled/i);

    await row.getByPlaceholder("reason").fill("maintenance done");
    await row.getByRole("button", { name: "Switch on" }).click();
    await expect(page.getByTestId("message").textContent()).resolves.toContain("switched on");
    let back = false;
    for (let i = 0; i < 40 && !back; i++) {
      back = !(await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } })).isError;
      if (!back) await new Promise((res) => setTimeout(res, 250));
    }
    expect(back).toBe(true);
  });

  it("lets carol revoke alice, of her own tenant, while alice's client holds a valid token: her next call is refused and audited", async () => {
    const alice = await mcp("alice", "order-lookup");
    expect((await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } })).isError).toBe(
      false,
    );
    const bob = await mcp("bob", "order-lookup");
    expect((await bob.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } })).isError).toBe(
      false,
    );

    // dave (admin) sees every tenant's people and may revoke a client; carol (approver, emea) only emea's.
    const admin = await asDave("/access");
    await expect(admin.locator('[data-person="bob"]').count()).resolves.toBe(1);
    const aliceClient = await admin
      .locator('[data-person="alice"] [data-testid="client"]')
      .first()
      .getAttribute("data-client");
    expect(aliceClient).toBeTruthy();
    await expect(admin.getByRole("button", { name: "Revoke client" }).count()).resolves.toBeGreaterThan(0);
    await shot(admin, "access");

    const page = await signIn("carol", "/access");
    await page.waitForURL(url("/access"));
    const card = page.locator('[data-person="alice"]');
    await expect(card.getByTestId("client").first().textContent()).resolves.toBeTruthy();
    await expect(page.locator('[data-person="bob"]').count()).resolves.toBe(0);
    await expect(page.getByRole("button", { name: "Revoke client" }).count()).resolves.toBe(0);

    // Posting what the page does not offer, from carol's own signed-in page: refused, audited, nothing stored.
    const post = (kind: string, value: string) =>
      page.evaluate(
        async ([k, v]) =>
          (
            await fetch("/access/revoke", {
              method: "POST",
              body: new URLSearchParams({ kind: k!, value: v!, reason: "not mine to revoke" }),
            })
          ).status,
        [kind, value],
      );
    expect(await post("subject", "bob")).toBe(403);
    expect(await post("client", aliceClient!)).toBe(403);
    const refusals = (await env.audit.latest(10))
      .filter((e) => e.type === "console.refused" && e.user_id === "carol")
      .map((e) => JSON.parse(e.detail).reason as string)
      .filter((reason) => reason.includes("may revoke"));
    expect(refusals).toEqual([
      "carol may revoke only people and tokens of tenant emea",
      "carol may revoke only people and tokens of tenant emea; a client is used by every tenant's people: an admin revokes it",
    ]);
    expect((await env.audit.latest(10)).some((e) => e.type === "access.revoked")).toBe(false);
    expect((await bob.callTool({ name: "get_order", arguments: { order_id: NA_ORDER } })).isError).toBe(
      false,
    );

    await card.getByPlaceholder("reason").first().fill("laptop lost");
    await card.getByRole("button", { name: "Revoke alice" }).click();
    await expect(page.getByTestId("message").textContent()).resolves.toContain("Revoked person alice");
    const revoked = (await env.audit.latest(5)).find((e) => e.type === "access.revoked");
    expect(revoked).toMatchObject({ user_id: "carol", server: "console", outcome: "revoked" });

    const started = Date.now();
    let refused = "";
    while (!refused && Date.now() - started < 10_000) {
      const r = await alice.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
      if (r.isError) refused = textOf(r);
    }
    expect(refused).toContain("access was revoked");
    const denial = (await env.audit.latest(10)).filter((e) => e.type === "tool.denied").at(-1)!;
    expect(denial.user_id).toBe("alice");
    expect(JSON.parse(denial.detail).stage).toBe("identity");
  });
});
