/**
 * The Jira Cloud stand-in: a real HTTP server with the REST v3 endpoints Gatehouse's ticket servers use,
 * Jira's request and error shapes (field errors on create, the enhanced JQL search with `nextPageToken`, 410 on
 * the removed `/rest/api/3/search`, 429 with Retry-After), entity properties, and fault injection — including
 * faults that apply a request and lose its answer, for exactly-once tests. Point jira.js 6 at it with
 * `createCloudClient({ host: sandbox.url, auth: { type: "basic", email: sandbox.email, apiToken: sandbox.apiToken } })`;
 * its answers pass jira.js 6's runtime schemas (`onSchemaMismatch: "throw"`, see test/jira.test.ts).
 *
 * Only REST v3 is served, and it takes rich text (description, comment body) only as ADF, as Jira v3 does.
 * jira.js 6 sends a rich-text field given as a wiki-markup string to REST v2 instead (and reads the result back
 * through v3); Gatehouse always sends ADF, so v2 is not served here and such a write is answered 404.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Answer, retryAfterHeader, type StandInRequest, startStandIn } from "../stand-in/server.ts";
import { JIRA_FAULTS, type JiraFaults } from "./faults.ts";
import { ERR_AUTH, HttpError, JSON_TYPE, jiraError, ok } from "./http.ts";
import { IssueStore, type JiraIssueSnapshot } from "./issue-store.ts";
import { buildJiraSeed } from "./jira-seed.ts";
import { type JiraSite, presenter } from "./present.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { jiraRouter } from "./router.ts";

export type { JiraIssueSnapshot } from "./issue-store.ts";

/** The account the sandbox accepts unless another is configured. */
export const JIRA_SANDBOX_EMAIL = "gatehouse-bot@example.com";
/** The API token the sandbox accepts unless another is configured. */
export const JIRA_SANDBOX_API_TOKEN = "sandbox-jira-api-token";

export interface JiraLimits {
  /** Requests per account in a rolling minute (default 300). */
  perMinute?: number;
}

export interface JiraSandboxOptions {
  /** Default 7120; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  email?: string;
  apiToken?: string;
  limits?: JiraLimits;
}

export interface RunningJira {
  url: string;
  email: string;
  apiToken: string;
  faults: JiraFaults;
  /** Requests received (every status, faulted ones included; control routes excluded), optionally by path prefix. */
  requestCount(pathPrefix?: string): number;
  /** Every issue, seeded and created, in creation order. */
  issues(): JiraIssueSnapshot[];
  /** Forgets the rate-limit window (the request counts stay). */
  resetRateLimits(): void;
  close(): Promise<void>;
}

const DEFAULT_PER_MINUTE = 300;

const SERVER_ERRORS: Record<number, string> = {
  500: "Internal server error",
  503: "Service Unavailable",
};

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Starts the stand-in: authentication and the rate limit here, then the resources (see router.ts and
 * resources/, one file per resource) over the seeded issue store.
 */
export async function startJiraSandbox(opts: JiraSandboxOptions = {}): Promise<RunningJira> {
  const email = opts.email ?? JIRA_SANDBOX_EMAIL;
  const apiToken = opts.apiToken ?? JIRA_SANDBOX_API_TOKEN;
  const host = opts.host ?? "127.0.0.1";
  const limiter = new RateLimiter(opts.limits?.perMinute ?? DEFAULT_PER_MINUTE);
  const expectedAuth = digest(`${email.toLowerCase()}:${apiToken}`);
  const seed = buildJiraSeed();
  // The URL is known once the stand-in listens; answers read it from here at request time.
  const site: JiraSite = {
    url: "",
    email,
    seed,
    account: {
      accountId: "712020:5f0c4c1e-0000-4000-8000-00000000b07a",
      accountType: "atlassian",
      displayName: "Gatehouse Bot",
      active: true,
    },
  };
  const issues = new IssueStore(seed);
  const route = jiraRouter({ site, issues, present: presenter(site) });

  function authenticated(header: string | undefined): boolean {
    const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? "");
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const given = digest(`${decoded.slice(0, colon).toLowerCase()}:${decoded.slice(colon + 1)}`);
    return timingSafeEqual(given, expectedAuth);
  }

  /** Authentication, rate limit, then the route. Always returns an answer (errors as Jira's error bodies). */
  function answerFor({ req, method, path, q, rawBody }: StandInRequest): Answer {
    if (!authenticated(req.headers.authorization))
      return jiraError(401, [ERR_AUTH], { "x-seraph-loginreason": "AUTHENTICATED_FAILED" });
    const slot = limiter.take(email.toLowerCase());
    if (!slot.ok) return jiraError(429, ["Rate limit exceeded."], slot.headers);
    try {
      const a = route(method, path, q, rawBody);
      return { ...a, headers: { ...slot.headers, ...a.headers } };
    } catch (e) {
      if (e instanceof HttpError)
        return {
          status: e.status,
          body: { errorMessages: e.errorMessages, errors: e.errors },
          headers: slot.headers,
        };
      return jiraError(500, ["Internal server error"], slot.headers);
    }
  }

  const standIn = await startStandIn({
    port: opts.port ?? 7120,
    host,
    faults: JIRA_FAULTS,
    contentType: JSON_TYPE,
    headers: ({ body }) => ({
      ...(body === undefined ? {} : { "content-type": JSON_TYPE }),
      "x-arequestid": randomBytes(8).toString("hex"),
    }),
    tooLarge: () => jiraError(413, ["Request entity too large."]),
    internalError: () => jiraError(500, ["Internal server error"]).body,
    statusFault(fault) {
      if (fault.status === 429)
        return jiraError(429, ["Rate limit exceeded."], limiter.refusedHeaders(fault.retryAfterSeconds ?? 1));
      return jiraError(fault.status, [SERVER_ERRORS[fault.status]!], retryAfterHeader(fault));
    },
    malformedBody: '{"issues":[{"id":"10000","key":"SUP-1","fields":{"summary":"Nordlicht Logis',
    resetRateLimits: () => limiter.reset(),
    control: (method, path) =>
      path === "/__sandbox/issues" && method === "GET" ? ok(200, { issues: issues.snapshots() }) : undefined,
    answer: answerFor,
  });
  site.url = standIn.url;

  return {
    url: site.url,
    email,
    apiToken,
    faults: standIn.faults,
    requestCount: standIn.requestCount,
    issues: () => issues.snapshots(),
    resetRateLimits: () => limiter.reset(),
    close: standIn.close,
  };
}
