import {
  type AuditLog,
  accessInventory,
  type Identity,
  isChainSeq,
  type KillSwitches,
  type RevocationKind,
  Revocations,
  revocationProblem,
  type TokenVerifier,
  verifyAuditChain,
} from "@gatehouse/governance";
import type { Store } from "@gatehouse/store";
import { type Context, Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { type AuditFilter, auditEvent, parseAuditFilter, queryAudit } from "./audit-query.ts";
import { consoleAudit } from "./console-audit.ts";
import type { Area, ConsolePolicy, Reach } from "./console-policy.ts";
import { pendingDrafts } from "./pending-drafts.ts";
import type { Session, SessionStore } from "./sessions.ts";
import type { PendingSignIn, SignIn } from "./sign-in.ts";
import type { TicketSendApprovals } from "./ticket-send-approvals.ts";
import { TIMELINE_JS } from "./timeline-script.ts";
import { traceTree } from "./trace-tree.ts";
import { accessPage } from "./views/access-view.ts";
import { approvalPage, approvalsPage } from "./views/approvals-views.ts";
import { auditPage, auditRow, eventPage } from "./views/audit-views.ts";
import { chainPage } from "./views/chain-view.ts";
import { killSwitchesPage, type ToolSwitch } from "./views/killswitches-view.ts";
import { type Html, messagePage, signInPage } from "./views/layout.ts";
import { tracePage, traceSearchPage } from "./views/trace-view.ts";

/** A tool of a server, as the console lists it for kill switches. */
export interface ConsoleTool {
  server: string;
  tool: string;
  kind: string;
}

export interface ConsoleDeps {
  store: Store;
  audit: AuditLog;
  killSwitches: KillSwitches;
  policy: ConsolePolicy;
  verifier: TokenVerifier;
  signIn: SignIn;
  approvals: TicketSendApprovals;
  sessions: SessionStore;
  tools: ConsoleTool[];
  cookieSecret: string;
  /** How soon a kill switch takes effect in the servers (their cache), for the page to say. */
  killSwitchTtlMs: number;
  /** Cookies need Secure when people reach the console over https. */
  secureCookies: boolean;
  /** Client names by client id, from the identity provider's registrations (for the Access view). */
  clientNames?: () => Record<string, string>;
}

const SESSION_COOKIE = "gatehouse_console";
const SIGN_IN_COOKIE = "gatehouse_console_signin";
const DRAFT_ID = /^dr_[A-Za-z0-9]{12}$/;
const CORRELATION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

type Env = { Variables: { session: Session } };

const decisionForm = z.object({
  decision: z.enum(["approve", "reject"], { error: "decision must be approve or reject" }),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/, "content_hash must be the SHA-256 shown on the page"),
  previous_decision: z.string().max(64),
  reason: z.string().trim().max(500, "reason is at most 500 characters"),
});

const switchForm = z.object({
  tool: z.string().min(1, "tool is required"),
  state: z.enum(["on", "off"], { error: "state must be on or off" }),
  reason: z.string().trim().min(1, "a reason is required").max(500, "reason is at most 500 characters"),
});

const issues = (e: z.ZodError) => e.issues.map((i) => i.message).join("; ");

/** A path on this console to return to after signing in; anything else (another site) is ignored. */
const localPath = (next: unknown) =>
  typeof next === "string" && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")
    ? next
    : "/";

/**
 * The console's routes. Sign-in is OAuth at the identity provider (openid-client); the session is a random
 * id in a signed cookie; state-changing requests must come from the console's own pages (Hono's CSRF
 * middleware: Origin and Sec-Fetch-Site); every page asks Cedar (ConsolePolicy) what the person may see.
 */
export function consoleApp(deps: ConsoleDeps): Hono<Env> {
  const app = new Hono<Env>();
  const record = consoleAudit(deps.audit);
  const cookieOptions = {
    httpOnly: true,
    secure: deps.secureCookies,
    sameSite: "Lax" as const,
    path: "/",
  };

  const render = async (c: Context, page: Html, status: 200 | 400 | 401 | 403 | 404 | 502 = 200) =>
    c.html(await page, status);

  /** The refusal a person sees, audited under their identity with the policies behind it. */
  const refuse = async (
    c: Context,
    identity: Identity | undefined,
    what: string,
    message: string,
    policyIds: string[] = [],
    status: 401 | 403 = 403,
  ) => {
    await record("console.refused", identity, {
      tool: what,
      outcome: status === 401 ? "not signed in" : "forbidden",
      decision: "deny",
      policyIds,
      detail: { method: c.req.method, path: c.req.path, reason: message },
    });
    const wantsJson = c.req.path.startsWith("/api/") || c.req.header("accept")?.includes("text/event-stream");
    if (wantsJson)
      return c.json(
        { error: status === 401 ? "unauthorized" : "forbidden", error_description: message },
        status,
      );
    return render(
      c,
      messagePage({
        title: status === 401 ? "Sign in first" : "Not allowed",
        message,
        identity,
        areas: identity ? deps.policy.visibleAreas(identity) : [],
      }),
      status,
    );
  };

  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The pages carry one <style> block and inline widths for trace bars; no inline script.
        styleSrc: ["'self'", "'unsafe-inline'"],
        formAction: ["'self'", new URL(deps.signIn.issuer).origin],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: "same-origin",
    }),
  );

  // Cross-site form posts are refused before any handler runs, and audited (under the person when the
  // browser sent their cookie along).
  const csrfCheck = csrf();
  app.use("*", async (c, next) => {
    try {
      await csrfCheck(c, next);
    } catch (err) {
      if (!(err instanceof HTTPException) || err.status !== 403) throw err;
      const session = deps.sessions.get(
        (await getSignedCookie(c, deps.cookieSecret, SESSION_COOKIE)) || undefined,
      );
      return refuse(
        c,
        session?.identity,
        "csrf",
        `a state-changing request must come from the console's own pages (Origin ${c.req.header("origin") ?? "absent"}, Sec-Fetch-Site ${c.req.header("sec-fetch-site") ?? "absent"})`,
      );
    }
  });

  app.get("/static/timeline.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "no-cache");
    return c.body(TIMELINE_JS);
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/favicon.ico", (c) => c.body(null, 204));

  // --- sign-in -----------------------------------------------------------------------------------------
  app.get("/auth/sign-in", async (c) => {
    const { url, pending } = await deps.signIn.begin(localPath(c.req.query("next")));
    await setSignedCookie(c, SIGN_IN_COOKIE, JSON.stringify(pending), deps.cookieSecret, {
      ...cookieOptions,
      path: "/auth",
      maxAge: 600,
    });
    return c.redirect(url.toString(), 302);
  });

  app.get("/auth/callback", async (c) => {
    const raw = await getSignedCookie(c, deps.cookieSecret, SIGN_IN_COOKIE);
    deleteCookie(c, SIGN_IN_COOKIE, { path: "/auth" });
    if (!raw)
      return render(
        c,
        messagePage({
          title: "Sign-in expired",
          message: "This sign-in did not start here or took longer than ten minutes; sign in again.",
        }),
        400,
      );
    const pending = JSON.parse(raw) as PendingSignIn;
    if (c.req.query("error"))
      return render(
        c,
        messagePage({
          title: "Sign-in refused",
          message: `The identity provider said: ${c.req.query("error")}${c.req.query("error_description") ? `: ${c.req.query("error_description")}` : ""}`,
        }),
        403,
      );
    let identity: Identity;
    let accessToken: string;
    try {
      accessToken = await deps.signIn.finish(new URL(c.req.url, deps.signIn.redirectUri), pending);
      identity = await deps.verifier.verify(accessToken);
    } catch (err) {
      return render(
        c,
        messagePage({ title: "Sign-in failed", message: `Sign in again (${(err as Error).message}).` }),
        400,
      );
    }
    const session = deps.sessions.create(identity, accessToken, (identity.expiresAt ?? 0) * 1000);
    await setSignedCookie(c, SESSION_COOKIE, session.id, deps.cookieSecret, cookieOptions);
    await record("console.signed_in", identity, { outcome: "ok", decision: "allow" });
    return c.redirect(pending.next === "/" ? "/" : pending.next, 302);
  });

  app.post("/auth/sign-out", async (c) => {
    const id = await getSignedCookie(c, deps.cookieSecret, SESSION_COOKIE);
    const session = deps.sessions.get(id || undefined);
    if (session) {
      deps.sessions.delete(session.id);
      await record("console.signed_out", session.identity, { outcome: "ok", decision: "allow" });
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return render(c, messagePage({ title: "Signed out", message: "You are signed out of the console." }));
  });

  // --- everything below needs a signed-in person --------------------------------------------------------
  app.use("*", async (c, next) => {
    const session = deps.sessions.get(
      (await getSignedCookie(c, deps.cookieSecret, SESSION_COOKIE)) || undefined,
    );
    if (!session) {
      const page =
        c.req.method === "GET" && !c.req.path.startsWith("/api/") && !c.req.path.endsWith("/stream");
      if (page && c.req.path === "/") return render(c, signInPage("/"));
      if (page)
        return c.redirect(
          `/auth/sign-in?next=${encodeURIComponent(c.req.url.replace(/^[a-z]+:\/\/[^/]+/, ""))}`,
          302,
        );
      return refuse(c, undefined, c.req.path, "sign in to the console first", [], 401);
    }
    c.set("session", session);
    await next();
  });

  /** What this person may do in `area`, or the refusal (a page, audited). */
  const reach = (
    c: Context<Env>,
    area: Area,
    action: "console_view" | "console_act" = "console_view",
  ): Reach => deps.policy.reach(c.get("session").identity, area, action);
  const notAllowed = (c: Context<Env>, area: Area, r: Reach, what = `the ${area} view`) => {
    const id = c.get("session").identity;
    const areas = deps.policy.visibleAreas(id);
    const message =
      areas.length === 0
        ? `${id.user} (${id.roles.join(", ")}) may not use the console: it is for approvers and admins. Ask an admin if you need to see the audit trail.`
        : `${id.user} (${id.roles.join(", ")}, tenant ${id.tenant}) may not use ${what}.`;
    return refuse(c, id, area, message, r.policyIds);
  };
  const page = (c: Context<Env>) => {
    const identity = c.get("session").identity;
    return { identity, areas: deps.policy.visibleAreas(identity) };
  };

  app.get("/", async (c) => {
    const { identity, areas } = page(c);
    if (areas.length === 0) return notAllowed(c, "audit", deps.policy.reach(identity, "audit"));
    return c.redirect(
      areas.includes("approvals") && !areas.includes("killswitches") ? "/approvals" : "/audit",
      302,
    );
  });

  // --- audit ---------------------------------------------------------------------------------------------
  /** The filters and the tenant the person's policy limits them to, or a refusal. */
  const auditScope = (
    c: Context<Env>,
  ):
    | { ok: true; filter: AuditFilter; tenant: string | null }
    | { ok: false; status: 400 | 403; message: string; policyIds: string[] } => {
    const r = reach(c, "audit");
    if (!r.allowed) return { ok: false, status: 403, message: "", policyIds: r.policyIds };
    let filter: AuditFilter;
    try {
      filter = parseAuditFilter(c.req.query());
    } catch (err) {
      return {
        ok: false,
        status: 400,
        message: err instanceof z.ZodError ? issues(err) : "bad filter",
        policyIds: [],
      };
    }
    if (r.tenant !== null && filter.tenant && filter.tenant !== r.tenant)
      return {
        ok: false,
        status: 403,
        message: `you may see tenant ${r.tenant}'s audit trail, not tenant ${filter.tenant}'s`,
        policyIds: r.policyIds,
      };
    return { ok: true, filter, tenant: r.tenant };
  };
  const filterQuery = (f: AuditFilter) =>
    new URLSearchParams(
      Object.entries(f).filter(([k, v]) => v !== undefined && k !== "before" && k !== "after") as Array<
        [string, string]
      >,
    ).toString();

  app.get("/audit", async (c) => {
    const s = auditScope(c);
    if (!s.ok) {
      if (s.status === 400) {
        return render(
          c,
          await auditPage({
            ...page(c),
            filter: {},
            tenantScope: null,
            events: [],
            streamQuery: "",
            error: s.message,
          }),
          400,
        );
      }
      return s.message
        ? refuse(c, c.get("session").identity, "audit", s.message, s.policyIds)
        : notAllowed(c, "audit", { allowed: false, policyIds: s.policyIds });
    }
    const events = await queryAudit(deps.store, s.filter, { tenant: s.tenant });
    return render(
      c,
      auditPage({
        ...page(c),
        filter: s.filter,
        tenantScope: s.tenant,
        events: events.filter((e) => isChainSeq(e.seq)),
        streamQuery: filterQuery(s.filter),
      }),
    );
  });

  app.get("/api/audit", async (c) => {
    const s = auditScope(c);
    if (!s.ok) {
      if (s.status === 400) return c.json({ error: "invalid_request", error_description: s.message }, 400);
      return refuse(
        c,
        c.get("session").identity,
        "audit",
        s.message || "you may not read the audit trail",
        s.policyIds,
      );
    }
    const events = await queryAudit(deps.store, s.filter, { tenant: s.tenant });
    return c.json({ events: events.filter((e) => isChainSeq(e.seq)) });
  });

  // The live timeline: rows rendered (and escaped) by the same template as the page, newest appended.
  app.get("/audit/stream", async (c) => {
    const s = auditScope(c);
    if (!s.ok)
      return refuse(
        c,
        c.get("session").identity,
        "audit",
        s.message || "you may not read the audit trail",
        s.policyIds,
      );
    const lastId = Number(c.req.header("last-event-id"));
    let after = Number.isSafeInteger(lastId) && lastId > 0 ? lastId : (s.filter.after ?? 0);
    const sessionId = c.get("session").id;
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      while (open && deps.sessions.get(sessionId)) {
        const rows = await queryAudit(deps.store, { ...s.filter, after }, { tenant: s.tenant }, 200);
        for (const e of rows) {
          after = e.seq;
          if (!isChainSeq(e.seq)) continue;
          await stream.writeSSE({ event: "row", id: String(e.seq), data: (await auditRow(e)).toString() });
        }
        await stream.sleep(500);
      }
    });
  });

  app.get("/audit/events/:id", async (c) => {
    const r = reach(c, "audit");
    if (!r.allowed) return notAllowed(c, "audit", r);
    const event = await auditEvent(deps.store, c.req.param("id"), { tenant: r.tenant });
    if (!event)
      return render(
        c,
        messagePage({
          ...page(c),
          title: "No such event",
          message: "No audit event with that id that you may see.",
        }),
        404,
      );
    return render(c, eventPage({ ...page(c), event }));
  });

  // --- trace ---------------------------------------------------------------------------------------------
  app.get("/trace", async (c) => {
    const r = reach(c, "trace");
    if (!r.allowed) return notAllowed(c, "trace", r);
    const id = c.req.query("id")?.trim();
    if (id) return c.redirect(`/trace/${encodeURIComponent(id)}`, 302);
    return render(c, traceSearchPage(page(c)));
  });

  app.get("/trace/:id", async (c) => {
    const r = reach(c, "trace");
    if (!r.allowed) return notAllowed(c, "trace", r);
    const id = c.req.param("id");
    if (!CORRELATION_ID.test(id))
      return render(c, traceSearchPage({ ...page(c), message: `"${id}" is not a correlation id` }), 400);
    // Events outside the chain (forged past the schema) are not part of any trace; a tenant-bound person
    // sees only their tenant's events.
    const events = (await deps.audit.byCorrelation(id)).filter(
      (e) => isChainSeq(e.seq) && (r.tenant === null || e.tenant === r.tenant),
    );
    if (events.length === 0)
      return render(
        c,
        traceSearchPage({ ...page(c), message: `no audit events you may see with correlation id ${id}` }),
        404,
      );
    return render(
      c,
      tracePage({
        ...page(c),
        correlationId: id,
        roots: traceTree(events),
        eventCount: events.length,
        servers: new Set(events.map((e) => e.server)).size,
      }),
    );
  });

  // --- chain integrity -------------------------------------------------------------------------------------
  const verify = async () => {
    const started = Date.now();
    const result = await verifyAuditChain(deps.audit);
    return { result, checkedAt: new Date().toISOString(), ms: Date.now() - started };
  };

  app.get("/chain", async (c) => {
    const r = reach(c, "chain");
    if (!r.allowed) return notAllowed(c, "chain", r);
    return render(c, chainPage({ ...page(c), ...(await verify()) }));
  });

  app.post("/chain/verify", async (c) => {
    const r = reach(c, "chain");
    if (!r.allowed) return notAllowed(c, "chain", r);
    const v = await verify();
    await record("console.chain_verified", c.get("session").identity, {
      outcome: v.result.ok ? "intact" : "broken",
      decision: "allow",
      policyIds: r.policyIds,
      detail: v.result.ok
        ? { events: v.result.events, headSeq: v.result.headSeq, headHash: v.result.headHash }
        : { events: v.result.events, firstBad: v.result.id, problem: v.result.problem },
    });
    return render(c, chainPage({ ...page(c), ...v }));
  });

  // --- approvals ---------------------------------------------------------------------------------------------
  app.get("/approvals", async (c) => {
    const r = reach(c, "approvals");
    if (!r.allowed) return notAllowed(c, "approvals", r);
    return render(
      c,
      approvalsPage({ ...page(c), tenantScope: r.tenant, drafts: await pendingDrafts(deps.store, r.tenant) }),
    );
  });

  /** The draft's tenant, for the policy question before anything is shown or decided. */
  const draftTenant = async (id: string) =>
    (await deps.store.db.selectFrom("ticket_drafts").select("tenant").where("id", "=", id).executeTakeFirst())
      ?.tenant;

  const showDraft = async (c: Context<Env>, id: string, message?: { ok: boolean; text: string }) => {
    const shown = await deps.approvals.show(c.get("session").accessToken, id);
    if (!shown.ok)
      return render(
        c,
        messagePage({ ...page(c), title: "Cannot show this draft", message: shown.message }),
        502,
      );
    return render(c, approvalPage({ ...page(c), draftId: id, view: shown.value, message }));
  };

  /**
   * The draft a page names, if it exists and the person reaches its tenant in the approvals area (to see
   * it, or to decide on it); otherwise the answer to give instead (404, or a refusal, audited).
   */
  const draftInReach = async (c: Context<Env>, id: string, action: "console_view" | "console_act") => {
    const identity = c.get("session").identity;
    const tenant = DRAFT_ID.test(id) ? await draftTenant(id) : undefined;
    if (!tenant)
      return render(
        c,
        messagePage({ ...page(c), title: "No such draft", message: `there is no draft ${id}` }),
        404,
      );
    if (!deps.policy.allows(identity, "approvals", tenant, action))
      return refuse(
        c,
        identity,
        "approvals",
        action === "console_view"
          ? `draft ${id} is in tenant ${tenant}; you may see approvals of ${identity.tenant}`
          : `${identity.user} may not decide draft ${id} of tenant ${tenant}`,
        reach(c, "approvals", action).policyIds,
      );
    return undefined;
  };

  app.get("/approvals/:id", async (c) => {
    const id = c.req.param("id");
    return (await draftInReach(c, id, "console_view")) ?? showDraft(c, id);
  });

  app.post("/approvals/:id", async (c) => {
    const id = c.req.param("id");
    const refused = await draftInReach(c, id, "console_act");
    if (refused) return refused;
    const parsed = decisionForm.safeParse(await c.req.parseBody());
    if (!parsed.success) return showDraft(c, id, { ok: false, text: issues(parsed.error) });
    const f = parsed.data;
    const decided = await deps.approvals.decide(c.get("session").accessToken, id, {
      decision: f.decision,
      content_hash: f.content_hash,
      previous_decision: f.previous_decision || null,
      ...(f.reason ? { reason: f.reason } : {}),
    });
    return showDraft(
      c,
      id,
      decided.ok
        ? {
            ok: true,
            text: `${f.decision === "approve" ? "Approved" : "Rejected"} as ${decided.value.approval_id}${decided.value.expires_at && f.decision === "approve" ? `, valid until ${decided.value.expires_at}` : ""}.`,
          }
        : { ok: false, text: `ticket-send refused: ${decided.message}` },
    );
  });

  // --- kill switches -------------------------------------------------------------------------------------------
  const switches = async (): Promise<ToolSwitch[]> => {
    const rows = new Map(
      (await deps.killSwitches.list()).filter((r) => r.enabled === 1).map((r) => [r.tool, r]),
    );
    return deps.tools.map((t) => {
      const row = rows.get(`${t.server}/${t.tool}`) ?? rows.get(t.tool);
      return {
        ...t,
        off: row ? { key: row.tool, by: row.updated_by, at: row.updated_at, reason: row.reason } : null,
      };
    });
  };

  app.get("/killswitches", async (c) => {
    const r = reach(c, "killswitches");
    if (!r.allowed) return notAllowed(c, "killswitches", r);
    return render(c, killSwitchesPage({ ...page(c), tools: await switches(), ttlMs: deps.killSwitchTtlMs }));
  });

  app.post("/killswitches", async (c) => {
    const r = reach(c, "killswitches", "console_act");
    if (!r.allowed) return notAllowed(c, "killswitches", r, "the kill switches");
    const identity = c.get("session").identity;
    const parsed = switchForm.safeParse(await c.req.parseBody());
    const known = new Set(deps.tools.flatMap((t) => [`${t.server}/${t.tool}`, t.tool]));
    const problem = !parsed.success
      ? issues(parsed.error)
      : !known.has(parsed.data.tool)
        ? `"${parsed.data.tool}" is not a tool of any server (use server/tool, e.g. order-lookup/get_order)`
        : undefined;
    if (problem || !parsed.success)
      return render(
        c,
        killSwitchesPage({
          ...page(c),
          tools: await switches(),
          ttlMs: deps.killSwitchTtlMs,
          message: { ok: false, text: problem ?? "" },
        }),
        400,
      );
    const { tool, state, reason } = parsed.data;
    // The store keeps the kill switch (on = the tool is stopped), as `gatehouse killswitch` does.
    await deps.killSwitches.set(tool, state === "off", identity.user, reason);
    await record("killswitch.changed", identity, {
      tool,
      outcome: state === "off" ? "on" : "off",
      decision: "allow",
      policyIds: r.policyIds,
      detail: { operator: identity.user, reason, toolState: state },
    });
    return render(
      c,
      killSwitchesPage({
        ...page(c),
        tools: await switches(),
        ttlMs: deps.killSwitchTtlMs,
        message: {
          ok: true,
          text: `${tool} switched ${state}; running servers follow within ${deps.killSwitchTtlMs} ms`,
        },
      }),
    );
  });

  // --- access ----------------------------------------------------------------------------------------------------
  /** The inventory as far as the person reaches: every tenant's people, or their own tenant's. */
  const people = async (r: Reach & { allowed: true }) => {
    const all = await accessInventory(deps.store, { clientNames: deps.clientNames?.() ?? {} });
    return r.tenant === null ? all : all.filter((p) => p.tenant === r.tenant);
  };
  const KIND_NAMES: Record<RevocationKind, string> = { subject: "person", client: "client", token: "token" };

  app.get("/access", async (c) => {
    const r = reach(c, "access");
    if (!r.allowed) return notAllowed(c, "access", r);
    const list = await people(r);
    await record("access.listed", c.get("session").identity, {
      outcome: "listed",
      decision: "allow",
      policyIds: r.policyIds,
      detail: { people: list.length },
    });
    return render(c, accessPage({ ...page(c), people: list, clientsToo: r.tenant === null }));
  });

  // The same revocation list `gatehouse revoke` writes; only what the inventory shows may be revoked here.
  app.post("/access/revoke", async (c) => {
    const r = reach(c, "access", "console_act");
    if (!r.allowed) return notAllowed(c, "access", r, "revocations");
    const identity = c.get("session").identity;
    const form = await c.req.parseBody();
    const input = { kind: form.kind, value: form.value, reason: form.reason, by: identity.user };
    const list = await people(r);
    const shown = new Set(
      list.flatMap((p) => [
        `subject:${p.person}`,
        ...p.clients.map((cl) => `client:${cl.clientId}`),
        ...p.tokens.map((t) => `token:${t.tokenId}`),
      ]),
    );
    if (r.tenant !== null) {
      // A tenant's approver: a client is used by every tenant's people, and another tenant's people and
      // tokens are not theirs to revoke. Refused (and audited) as policy, not as a typo.
      const everyone = await accessInventory(deps.store, {});
      const otherTenant = everyone.some(
        (p) =>
          p.tenant !== r.tenant &&
          ((input.kind === "subject" && p.person === input.value) ||
            (input.kind === "token" && p.tokens.some((t) => t.tokenId === input.value))),
      );
      if (input.kind === "client" || otherTenant)
        return refuse(
          c,
          identity,
          "access",
          `${identity.user} may revoke only people and tokens of tenant ${r.tenant}${input.kind === "client" ? "; a client is used by every tenant's people: an admin revokes it" : ""}`,
          r.policyIds,
        );
    }
    const problem =
      revocationProblem(input) ??
      (shown.has(`${String(input.kind)}:${String(input.value)}`)
        ? undefined
        : `nobody with that ${KIND_NAMES[input.kind as RevocationKind]} has reached a server; nothing to revoke`);
    if (problem)
      return render(
        c,
        accessPage({
          ...page(c),
          people: list,
          clientsToo: r.tenant === null,
          message: { ok: false, text: problem },
        }),
        400,
      );
    const kind = input.kind as RevocationKind;
    const value = String(input.value);
    const reason = String(input.reason).trim();
    const { revocation, created } = await new Revocations(deps.store, 0).revoke({
      kind,
      value,
      reason,
      by: identity.user,
    });
    await record("access.revoked", identity, {
      outcome: created ? "revoked" : "already revoked",
      decision: "allow",
      policyIds: r.policyIds,
      detail: { revocation: revocation.id, revoked: kind, value, reason },
    });
    return render(
      c,
      accessPage({
        ...page(c),
        people: await people(r),
        clientsToo: r.tenant === null,
        message: {
          ok: true,
          text: created
            ? `Revoked ${KIND_NAMES[kind]} ${value}: every server refuses its access tokens within about a second.`
            : `${KIND_NAMES[kind]} ${value} was already revoked by ${revocation.revokedBy}.`,
        },
      }),
    );
  });

  app.notFound(async (c) =>
    render(c, messagePage({ title: "Not found", message: `nothing at ${c.req.path}` }), 404),
  );
  return app;
}
