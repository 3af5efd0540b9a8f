import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { UpstreamError } from "@gatehouse/kit";
import { isApiError, isNetworkError, type NetworkError, type SchemaMismatchReport } from "jira.js/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { JiraGateway, JiraUnreadableError } from "../src/index.ts";

/** One request as the fake Jira saw it; `abandoned` when the client went away before it was answered. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  abandoned: boolean;
}

type Handler = (req: Seen, res: ServerResponse) => void;

/** A bare HTTP server standing in for Jira: each test says how it answers, and every request is kept. */
let server: Server;
let base = "";
let handler: Handler;
let seen: Seen[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s: Seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        abandoned: false,
      };
      seen.push(s);
      res.on("close", () => {
        if (!res.writableFinished) s.abandoned = true;
      });
      handler(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", ...headers });
  res.end(JSON.stringify(body));
};
const raw = (res: ServerResponse, status: number, contentType: string, body: string) => {
  res.writeHead(status, { "content-type": contentType });
  res.end(body);
};
/** Never answers: the request stays open until the client gives up. */
const hold: Handler = () => {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gateway(env: Record<string, string> = {}, drift?: (r: SchemaMismatchReport) => void) {
  return new JiraGateway(
    {
      JIRA_BASE_URL: `${base}/`,
      JIRA_EMAIL: "bot@example.com",
      JIRA_API_TOKEN: "token-ÿ-12345",
      JIRA_TIMEOUT_MS: "300",
      JIRA_MAX_ATTEMPTS: "3",
      JIRA_RETRY_BUDGET_MS: "5000",
      JIRA_BREAKER_THRESHOLD: "100",
      ...env,
    },
    drift ? { onSchemaDrift: drift } : {},
  );
}

/** A caller's context keeping what the call reports to the audit event. */
function context(signal = new AbortController().signal) {
  const upstream: Array<Record<string, unknown>> = [];
  return {
    ctx: {
      signal,
      annotate: (key: string, value: unknown) => {
        if (key === "upstream") upstream.push(value as Record<string, unknown>);
      },
    },
    upstream,
  };
}

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, String(err)).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

const ISSUE = { id: "10001", key: "SUP-7", self: "https://example.atlassian.net/rest/api/3/issue/10001" };
const doc = {
  type: "doc",
  version: 1,
  content: [{ type: "paragraph", content: [{ type: "text", text: "x" }] }],
};

describe("JiraGateway: requests", () => {
  it("sends what jira.js 6 sends: Basic auth, Accept, JSON, the query as jira.js writes it", async () => {
    handler = (_req, res) => json(res, 200, { id: "10000", key: "SUP-1", fields: { summary: "s" } });
    const { ctx, upstream } = context();
    const issue = await gateway().call(ctx, "issue.get", (c) =>
      c.issues.getIssue({ issueIdOrKey: "SUP-1", fields: ["summary", "status"], properties: ["gatehouse"] }),
    );
    expect(issue.key).toBe("SUP-1");
    expect(seen).toHaveLength(1);
    const [get] = seen;
    expect(get!.method).toBe("GET");
    expect(get!.url).toBe("/rest/api/3/issue/SUP-1?fields=summary&fields=status&properties=gatehouse");
    expect(get!.headers.authorization).toBe(
      `Basic ${Buffer.from("bot@example.com:token-ÿ-12345", "utf8").toString("base64")}`,
    );
    expect(get!.headers.accept).toBe("application/json");
    expect(get!.headers["content-type"]).toBeUndefined();
    expect(upstream).toEqual([
      { system: "jira", operation: "issue.get", status: 200, attempts: 1, ms: expect.any(Number) },
    ]);

    handler = (_req, res) => json(res, 201, ISSUE);
    const body = { fields: { summary: "s", description: doc }, properties: [{ key: "gatehouse", value: 1 }] };
    const created = await gateway().call(
      context().ctx,
      "issue.create",
      (c) => c.sendRequest<unknown>({ url: "/rest/api/3/issue", method: "POST", body }),
      { idempotent: false },
    );
    expect(created).toEqual(ISSUE);
    expect(seen[1]).toMatchObject({ method: "POST", url: "/rest/api/3/issue", body: JSON.stringify(body) });
    expect(seen[1]!.headers["content-type"]).toBe("application/json");
  });

  it("sends rich text as ADF to v3; a string (which jira.js 6 routes to v2) is refused unsent", async () => {
    handler = (_req, res) => json(res, 201, ISSUE);
    const create = (description: unknown) =>
      gateway().call(
        context().ctx,
        "issue.create",
        (c) => c.issues.createIssue({ fields: { project: { key: "SUP" }, summary: "s", description } }),
        { idempotent: false },
      );
    expect((await create(doc)).key).toBe("SUP-7");
    expect(seen.map((s) => s.url)).toEqual(["/rest/api/3/issue"]);
    const refused = await failure(create("h2. wiki markup"));
    expect(refused.message).toMatch(/as ADF through REST v3; POST \/rest\/api\/2\/issue .*was not sent/);
    const comment = await failure(
      gateway().call(context().ctx, "comment.add", (c) =>
        c.issueComments.addComment({ issueIdOrKey: "SUP-7", body: "plain string" }),
      ),
    );
    expect(comment.message).toMatch(/POST \/rest\/api\/2\/issue\/SUP-7\/comment .*was not sent/);
    expect(seen).toHaveLength(1);
  });

  it("lets a write send one request: anything after it is refused unsent", async () => {
    handler = (_req, res) => json(res, 201, ISSUE);
    const err = await failure(
      gateway().call(
        context().ctx,
        "issue.create",
        async (c) => {
          await c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: {} });
          return c.issues.getIssue({ issueIdOrKey: "SUP-7" });
        },
        { idempotent: false },
      ),
    );
    expect(err.message).toMatch(/a write to Jira is one request; GET \/rest\/api\/3\/issue\/SUP-7 after it/);
    expect(seen).toHaveLength(1);
    // A read may page through as many requests as it needs.
    handler = (_req, res) => json(res, 200, { issues: [], isLast: true });
    await gateway().call(context().ctx, "search.jql", async (c) => {
      await c.issueSearch.searchAndReconsileIssuesUsingJqlPost({ jql: "project = SUP" });
      return c.issueSearch.searchAndReconsileIssuesUsingJqlPost({ jql: "project = SUP" });
    });
    expect(seen).toHaveLength(3);
  });

  it("does not follow a redirect on a write (a second request), and follows it on a read", async () => {
    handler = (req, res) => {
      if (req.url.startsWith("/moved")) return json(res, 201, ISSUE);
      res.writeHead(307, { location: `${base}/moved${req.url}` });
      res.end();
    };
    const err = await failure(
      gateway().call(
        context().ctx,
        "issue.create",
        (c) => c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: {} }),
        { idempotent: false },
      ),
    );
    expect(err.outcomeUnknown).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(["/rest/api/3/issue"]);
    const read = await gateway().call(context().ctx, "issue.get", (c) =>
      c.issues.getIssue({ issueIdOrKey: "SUP-7" }),
    );
    expect(read.key).toBe("SUP-7");
    expect(seen.map((s) => s.url)).toEqual([
      "/rest/api/3/issue",
      "/rest/api/3/issue/SUP-7",
      "/moved/rest/api/3/issue/SUP-7",
    ]);
  });
});

describe("JiraGateway: the attempt's signal reaches the request", () => {
  it("aborts a create Jira holds when the attempt times out: the request is gone, and not retried", async () => {
    handler = hold;
    const { ctx, upstream } = context();
    const err = await failure(
      gateway().call(
        ctx,
        "issue.create",
        (c) => c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: { fields: {} } }),
        { idempotent: false },
      ),
    );
    expect(err.message).toMatch(/^Jira did not answer in time \(1 attempt/);
    expect(err.outcomeUnknown).toBe(true);
    await sleep(100);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.abandoned).toBe(true);
    expect(upstream[0]).toMatchObject({ status: "timeout", attempts: 1 });
  });

  it("aborts every attempt of a read that times out, through jira.js's endpoint functions", async () => {
    handler = hold;
    const err = await failure(
      gateway().call(context().ctx, "project.get", (c) => c.projects.getProject({ projectIdOrKey: "SUP" })),
    );
    expect(err.message).toMatch(/^Jira did not answer in time \(3 attempts/);
    await sleep(100);
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.abandoned)).toBe(true);
  });

  it("aborts the request when the caller's time is up", async () => {
    handler = hold;
    const caller = new AbortController();
    const call = gateway({ JIRA_TIMEOUT_MS: "10000" }).call(context(caller.signal).ctx, "issue.get", (c) =>
      c.issues.getIssue({ issueIdOrKey: "SUP-1" }),
    );
    await sleep(100);
    expect(seen).toHaveLength(1);
    caller.abort();
    await failure(call);
    await sleep(100);
    expect(seen[0]!.abandoned).toBe(true);
  });
});

describe("JiraGateway: jira.js's errors, as the kit's Upstream needs them", () => {
  it("retries neither in jira.js nor in the kit a write that failed (503): one request, status kept", async () => {
    handler = (_req, res) => json(res, 503, { errorMessages: ["Service Unavailable"], errors: {} });
    let inner: unknown;
    const err = await failure(
      gateway().call(
        context().ctx,
        "issue.create",
        async (c) => {
          try {
            return await c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: {} });
          } catch (e) {
            inner = e;
            throw e;
          }
        },
        { idempotent: false },
      ),
    );
    expect(seen).toHaveLength(1);
    expect(err).toMatchObject({ status: 503, outcomeUnknown: true });
    // What the write path reads to decide whether Jira applied nothing.
    expect(isApiError(inner) && inner.status).toBe(503);
    expect(isApiError(inner) && inner.body).toEqual({ errorMessages: ["Service Unavailable"], errors: {} });
  });

  it("retries a read's 5xx in the kit only: one request per attempt", async () => {
    handler = (_req, res) => json(res, 500, { errorMessages: ["Internal server error"], errors: {} });
    const { ctx, upstream } = context();
    const err = await failure(
      gateway({ JIRA_MAX_ATTEMPTS: "2" }).call(ctx, "project.get", (c) =>
        c.projects.getProject({ projectIdOrKey: "SUP" }),
      ),
    );
    expect(err.message).toMatch(/^Jira failed \(HTTP 500\) after 2 attempts/);
    expect(seen).toHaveLength(2);
    expect(upstream[0]).toMatchObject({ status: 500, attempts: 2 });
  });

  it("waits out Retry-After on a 429 (RateLimitError.retryAfterMs) and on a 503", async () => {
    for (const status of [429, 503]) {
      seen = [];
      handler = (_req, res) =>
        seen.length === 1
          ? json(res, status, { errorMessages: ["Rate limit exceeded."], errors: {} }, { "retry-after": "1" })
          : json(res, 200, { id: "10000", key: "SUP" });
      const t0 = Date.now();
      const p = await gateway().call(context().ctx, "project.get", (c) =>
        c.projects.getProject({ projectIdOrKey: "SUP" }),
      );
      expect(p.key).toBe("SUP");
      expect(seen).toHaveLength(2);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    }
  });

  it("retries a 429 on a write (nothing was applied), once per attempt", async () => {
    handler = (_req, res) =>
      seen.length === 1
        ? json(res, 429, { errorMessages: ["Rate limit exceeded."], errors: {} }, { "retry-after": "0" })
        : json(res, 201, ISSUE);
    const { ctx, upstream } = context();
    const created = await gateway().call(
      ctx,
      "issue.create",
      (c) => c.sendRequest<{ key: string }>({ url: "/rest/api/3/issue", method: "POST", body: {} }),
      { idempotent: false },
    );
    expect(created.key).toBe("SUP-7");
    expect(seen).toHaveLength(2);
    expect(upstream[0]).toMatchObject({ status: 200, attempts: 2 });
  });

  it("maps 401 and 404 to the kit's answers", async () => {
    handler = (_req, res) => json(res, 401, { errorMessages: ["Client must be authenticated"], errors: {} });
    const auth = await failure(
      gateway().call(context().ctx, "project.get", (c) => c.projects.getProject({ projectIdOrKey: "SUP" })),
    );
    expect(auth).toMatchObject({ status: 401, outcomeUnknown: false });
    expect(auth.message).toMatch(/refused Gatehouse's credentials/);
    expect(seen).toHaveLength(1);
    handler = (_req, res) => json(res, 404, { errorMessages: ["Issue does not exist"], errors: {} });
    const missing = await failure(
      gateway().call(context().ctx, "issue.get", (c) => c.issues.getIssue({ issueIdOrKey: "SUP-9" })),
    );
    expect(missing).toMatchObject({ status: 404, message: "Jira has no such record." });
  });

  it("reports no answer as a NetworkError with the transport's code: refused, and dropped", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    let inner: unknown;
    const refused = await failure(
      gateway({ JIRA_BASE_URL: `http://127.0.0.1:${port}` }).call(
        context().ctx,
        "issue.create",
        (c) =>
          c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: {} }).catch((e: unknown) => {
            inner = e;
            throw e;
          }),
        { idempotent: false },
      ),
    );
    expect(isNetworkError(inner)).toBe(true);
    expect((inner as NetworkError).code).toBe("ECONNREFUSED");
    expect(refused.outcomeUnknown).toBe(true);

    handler = (_req, res) => res.socket?.destroy();
    await failure(
      gateway().call(
        context().ctx,
        "issue.create",
        (c) =>
          c.sendRequest({ url: "/rest/api/3/issue", method: "POST", body: {} }).catch((e: unknown) => {
            inner = e;
            throw e;
          }),
        { idempotent: false },
      ),
    );
    expect((inner as NetworkError).code).toBe("UND_ERR_SOCKET");
    expect(seen).toHaveLength(1);
  });
});

describe("JiraGateway: answers that cannot be read, and answers that drifted", () => {
  const unreadable: Array<[string, Handler]> = [
    ["truncated JSON", (_req, res) => raw(res, 200, "application/json;charset=UTF-8", '{"issues":[{"id":"1')],
    ["an HTML page", (_req, res) => raw(res, 200, "text/html", "<html>Log in</html>")],
    ["an empty body", (_req, res) => raw(res, 200, "application/json", "")],
    ["a JSON string where an object belongs", (_req, res) => json(res, 200, "SUP")],
    ["JSON null", (_req, res) => json(res, 200, null)],
  ];

  it.each(unreadable)(
    "blames %s on Jira: a read fails, not retried, with Jira's answer counted",
    async (_, h) => {
      handler = h;
      const { ctx, upstream } = context();
      const err = await failure(
        gateway().call(ctx, "project.get", (c) => c.projects.getProject({ projectIdOrKey: "SUP" })),
      );
      expect(err).toBeInstanceOf(JiraUnreadableError);
      expect(err).toMatchObject({ message: "Jira answered something unreadable.", outcomeUnknown: false });
      expect(seen).toHaveLength(1);
      expect(upstream[0]).toMatchObject({ operation: "project.get", status: 200, attempts: 1 });
    },
  );

  it("treats an unreadable answer to a write as an unknown outcome, never as nothing applied", async () => {
    handler = (_req, res) => raw(res, 201, "application/json", '{"id":"10001","key":"SU');
    const err = await failure(
      gateway().call(
        context().ctx,
        "issue.create",
        (c) => c.issues.createIssue({ fields: { summary: "s", description: doc } }),
        { idempotent: false },
      ),
    );
    expect(err).toBeInstanceOf(JiraUnreadableError);
    expect(err.outcomeUnknown).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it("uses a readable answer that drifted from jira.js's schema unvalidated, and reports the drift once", async () => {
    const reports: SchemaMismatchReport[] = [];
    handler = (_req, res) => json(res, 200, { id: 10000, key: "SUP", issueTypes: [{ name: "Task" }] });
    const g = gateway({}, (r) => reports.push(r));
    for (let i = 0; i < 3; i++) {
      const p = await g.call(context().ctx, "project.get", (c) =>
        c.projects.getProject({ projectIdOrKey: "SUP" }),
      );
      expect(p).toEqual({ id: 10000, key: "SUP", issueTypes: [{ name: "Task" }] });
    }
    expect(reports).toEqual([
      {
        endpoint: "GET /rest/api/3/project/SUP",
        issues: [{ path: "id", expected: "string", received: "number" }],
      },
    ]);
  });

  it("hands back what jira.js's schema parses (a comment's timestamps as Dates)", async () => {
    handler = (_req, res) =>
      json(res, 200, {
        startAt: 0,
        maxResults: 1,
        total: 1,
        comments: [{ id: "1", body: doc, created: "2025-01-06T09:14:00.000+0000" }],
      });
    const page = await gateway().call(context().ctx, "comment.list", (c) =>
      c.issueComments.getComments({ issueIdOrKey: "SUP-1", orderBy: "-created", maxResults: 100 }),
    );
    expect(page.comments?.[0]?.created).toEqual(new Date("2025-01-06T09:14:00.000Z"));
    expect(seen[0]!.url).toBe("/rest/api/3/issue/SUP-1/comment?maxResults=100&orderBy=-created");
  });
});
