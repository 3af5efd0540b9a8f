import {
  type ToolContext,
  ToolError,
  Upstream,
  type UpstreamCallOptions,
  UpstreamError,
  upstreamConfigFromEnv,
} from "@gatehouse/kit";
import { type CloudClient, createCloudClient } from "jira.js";
import {
  ApiError,
  AuthError,
  BlobSchema,
  BufferSchema,
  type Client,
  ForbiddenError,
  isApiError,
  isRateLimitError,
  isSchemaMismatchError,
  NetworkError,
  NotFoundError,
  RateLimitError,
  SchemaMismatchError,
  type SchemaMismatchReport,
  type SendRequestOptions,
  ServerError,
} from "jira.js/core";
import { z } from "zod";

const env = z.object({
  JIRA_BASE_URL: z.url({
    error:
      "JIRA_BASE_URL must be your Jira site, e.g. https://example.atlassian.net (gatehouse start passes the sandbox's)",
  }),
  JIRA_EMAIL: z.string({ error: "JIRA_EMAIL is not set (the account the API token belongs to)" }).min(3),
  JIRA_API_TOKEN: z.string({ error: "JIRA_API_TOKEN is not set" }).min(8),
  /** Which Jira projects each tenant files into: `emea=SUP;na=NAS`. */
  TICKETS_PROJECTS: z.string().default("emea=SUP;na=NAS"),
});

export interface JiraSettings {
  projectsByTenant: Map<string, string[]>;
}

/**
 * What a call's function gets: jira.js 6's platform client (`jira.projects.getProject(...)`, …) plus its
 * low-level `sendRequest`, both bound to one attempt of one call.
 */
export type JiraClient = CloudClient & Client;

export interface JiraGatewayOptions {
  /**
   * Where a Jira answer that jira.js's schema does not describe is reported (once per endpoint and field; types
   * and paths only, never values). The answer is used unvalidated; default: a line on stderr.
   */
  onSchemaDrift?(report: SchemaMismatchReport): void;
}

/**
 * Jira answered, but with something that cannot be read (not JSON, truncated, or not even the right kind of
 * value). Jira's fault, never a verdict on what was asked; for a write, the outcome is unknown: the change may
 * have been applied.
 */
export class JiraUnreadableError extends UpstreamError {
  constructor(outcomeUnknown: boolean) {
    super("Jira answered something unreadable.", undefined, outcomeUnknown);
  }
}

/**
 * Jira through jira.js 6, behind the kit's timeouts, retries and circuit breaker.
 *
 * jira.js 6's own transport (`createClient`) cannot be given an AbortSignal (its `SendRequestOptions` have none
 * and it calls `fetch` without one) and has no timeout, so an attempt the kit gives up on would still reach
 * Jira and could land unseen. The gateway therefore hands jira.js's endpoint functions a `Client` of its own
 * (`createCloudClient` accepts any object with `sendRequest`): the same requests, headers and typed errors
 * (ApiError and its subclasses, NetworkError, SchemaMismatchError), sent with the attempt's signal. None of
 * jira.js's own request policy runs: no retries (off by default in jira.js as well), no re-authentication on a
 * 401 (jira.js only does that under OAuth 2.0 or `getAuthOn401`), no timeout; the kit owns all of that, so
 * every request is counted and cancellable. A write (`idempotent: false`) is exactly one request: anything an
 * endpoint function would send after it is refused unsent, as is a redirect to follow, and REST v2 (where jira.js
 * 6 sends rich text given as a string, with a read-back after the write) is refused: Gatehouse sends ADF to v3.
 *
 * Answers: an HTTP error is jira.js's ApiError for its status (429 a RateLimitError with `retryAfterMs`); no
 * answer (refused, reset, aborted) is a NetworkError with the transport's code; an answer that cannot be read
 * fails the call with JiraUnreadableError; an answer that is readable but differs from jira.js's schema (Jira's
 * drift, e.g. a field that changed type) is reported and used unvalidated, as jira.js itself does by default,
 * so callers check the fields they rely on.
 */
export class JiraGateway {
  readonly settings: JiraSettings;
  private readonly upstream: Upstream;
  private readonly site: Site;

  constructor(source: NodeJS.ProcessEnv, options: JiraGatewayOptions = {}) {
    const parsed = env.safeParse(source);
    if (!parsed.success) {
      throw new Error(
        `invalid Jira configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`,
      );
    }
    const e = parsed.data;
    this.site = {
      host: e.JIRA_BASE_URL.replace(/\/+$/, ""),
      authorization: `Basic ${Buffer.from(`${e.JIRA_EMAIL}:${e.JIRA_API_TOKEN}`, "utf8").toString("base64")}`,
      onDrift: onceEach(options.onSchemaDrift ?? warnOnStderr),
    };
    this.settings = { projectsByTenant: parseProjects(e.TICKETS_PROJECTS) };
    this.upstream = new Upstream("Jira", upstreamConfigFromEnv("JIRA", source), {
      status: (err) => (isApiError(err) ? err.status : undefined),
      retryAfterMs: (err) =>
        (isRateLimitError(err) ? err.retryAfterMs : retryAfterOf.get(err as object)) ?? 0,
    });
  }

  /**
   * Runs `fn` as one upstream call; each attempt gets a client whose every request carries that attempt's
   * signal (timed out, or the caller's time up: the request is aborted, not left to land later).
   */
  async call<T>(
    ctx: Pick<ToolContext<unknown>, "annotate" | "signal">,
    operation: string,
    fn: (client: JiraClient, signal: AbortSignal) => Promise<T>,
    opts?: UpstreamCallOptions,
  ): Promise<T> {
    const write = opts?.idempotent === false;
    const outcome = await this.upstream.call(
      ctx,
      operation,
      async (signal): Promise<{ value: T } | { unreadable: SchemaMismatchError }> => {
        const client = attemptClient(this.site, signal, write);
        try {
          return { value: await fn(Object.assign(createCloudClient(client), client), signal) };
        } catch (err) {
          // Jira did answer (the attempt is not an outage and not retried), but nothing usable.
          if (isSchemaMismatchError(err)) return { unreadable: err };
          throw err;
        }
      },
      opts,
    );
    if ("unreadable" in outcome) throw new JiraUnreadableError(write);
    return outcome.value;
  }

  projectsOf(tenant: string, roles: string[]): string[] {
    if (roles.includes("admin"))
      return [...new Set([...this.settings.projectsByTenant.values()].flat())].sort();
    return this.settings.projectsByTenant.get(tenant) ?? [];
  }

  tenantOfProject(project: string): string | undefined {
    for (const [tenant, projects] of this.settings.projectsByTenant)
      if (projects.includes(project)) return tenant;
    return undefined;
  }
}

interface Site {
  /** The site URL without a trailing slash; request paths start with `/rest/`. */
  host: string;
  authorization: string;
  onDrift(report: SchemaMismatchReport): void;
}

/** Retry-After of an HTTP error other than 429 (Jira sends it with some 503s); jira.js keeps it only on 429. */
const retryAfterOf = new WeakMap<object, number>();

/**
 * The jira.js `Client` of one attempt: what jira.js 6's `createClient` sends (URL and query, JSON body, Accept
 * and Content-Type, Basic auth) and the errors it throws, over `fetch` with the attempt's signal.
 */
function attemptClient(site: Site, signal: AbortSignal, write: boolean): Client {
  let sent = 0;
  return {
    async sendRequest<T>(o: SendRequestOptions<T>): Promise<T> {
      const method = (o.method ?? "GET").toUpperCase();
      const path = o.url.startsWith("/") ? o.url : `/${o.url}`;
      const endpoint = `${method} ${path}`;
      if (path.startsWith("/rest/api/2/"))
        throw new ToolError(
          `Gatehouse sends Jira rich text as ADF through REST v3; ${endpoint} (where jira.js sends it as a string) was not sent`,
        );
      if (write && sent > 0)
        throw new ToolError(`a write to Jira is one request; ${endpoint} after it was not sent`);
      sent++;
      const headers: Record<string, string> = {
        Accept: "application/json",
        ...(hasJsonBody(o.body, method) ? { "Content-Type": "application/json" } : {}),
        Authorization: site.authorization,
        ...o.headers,
      };
      let response: Response;
      try {
        response = await fetch(withSearchParams(site.host + path, o.searchParams), {
          method,
          headers,
          body: requestBody(o.body),
          signal,
          // A followed redirect would be a second request for one write.
          redirect: write ? "manual" : "follow",
        });
      } catch (err) {
        throw networkError(err, endpoint);
      }
      let text = "";
      let bytes: Uint8Array | Blob | undefined;
      try {
        if (response.ok && (o.schema as unknown) === BufferSchema)
          bytes = new Uint8Array(await response.arrayBuffer());
        else if (response.ok && (o.schema as unknown) === BlobSchema) bytes = await response.blob();
        else text = await response.text();
      } catch (err) {
        // The answer broke off: what Jira did is as unknown as if none had come.
        throw networkError(err, endpoint);
      }
      if (!response.ok) throw apiError(response, text);
      if (bytes !== undefined) return bytes as T;
      if (response.status === 204 || (text === "" && !o.schema)) return undefined as T;
      const contentType = response.headers.get("content-type") ?? "";
      const unreadable = (received: string) =>
        new SchemaMismatchError(`Jira answered ${endpoint} with something unreadable`, {
          endpoint,
          issues: [{ path: "", expected: "a JSON body", received }],
        });
      if (text === "") throw unreadable("an empty body");
      if (!/\bjson\b/i.test(contentType)) throw unreadable(contentType || "no content type");
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw unreadable("JSON that does not parse");
      }
      if (!o.schema) return data as T;
      const parsed = o.schema.safeParse(data);
      if (parsed.success) return parsed.data;
      const report: SchemaMismatchReport = { endpoint, issues: describeIssues(parsed.error.issues, data) };
      // Not even the right kind of value (a string or null where an object belongs): nothing to read.
      if (report.issues.some((i) => i.path === ""))
        throw new SchemaMismatchError(`Jira answered ${endpoint} with something unreadable`, report);
      site.onDrift(report);
      return data as T;
    },
  };
}

function hasJsonBody(body: unknown, method: string): boolean {
  if (isBinary(body)) return false;
  // As jira.js: declared for any method that could carry a body (some Jira DELETEs want it).
  return (body !== undefined && body !== null) || (method !== "GET" && method !== "HEAD");
}

function isBinary(body: unknown): boolean {
  return (
    body instanceof FormData ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

function requestBody(body: unknown): RequestInit["body"] {
  if (body === undefined || body === null) return undefined;
  return isBinary(body) ? (body as RequestInit["body"]) : JSON.stringify(body);
}

/** The query string as jira.js writes it: arrays repeated, objects as JSON, absent values left out. */
function withSearchParams(url: string, searchParams: Record<string, unknown> | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(searchParams ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== undefined && item !== null) params.append(key, String(item));
    } else params.set(key, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  const query = params.toString();
  return query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
}

/** jira.js's error for an HTTP error answer, with Jira's body (parsed when it is JSON). */
function apiError(response: Response, text: string): ApiError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  const { status, statusText } = response;
  const message = `Request failed: ${status} ${statusText}${text ? ` - ${text}` : ""}`;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  let err: ApiError;
  if (status === 401) err = new AuthError(message, statusText, body);
  else if (status === 403) err = new ForbiddenError(message, statusText, body);
  else if (status === 404) err = new NotFoundError(message, statusText, body);
  else if (status === 429) err = new RateLimitError(message, statusText, body, { retryAfterMs });
  else if (status >= 500) err = new ServerError(message, status, statusText, body);
  else err = new ApiError(message, status, statusText, body);
  if (retryAfterMs !== undefined && status !== 429) retryAfterOf.set(err, retryAfterMs);
  return err;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; anything else is ignored. */
function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Transport codes jira.js counts as transient (worth retrying). */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * No (complete) answer: jira.js's NetworkError, with the transport's code (`ECONNREFUSED`, `UND_ERR_SOCKET`,
 * …) dug out of fetch's `cause` chain, or `AbortError` / `TimeoutError` when the attempt's signal ended it.
 */
function networkError(err: unknown, endpoint: string): NetworkError {
  let code: string | undefined;
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) code = err.name;
  for (let c: unknown = err, depth = 0; !code && c instanceof Error && depth < 5; depth++) {
    const own = (c as { code?: unknown }).code;
    if (typeof own === "string") code = own;
    c = c.cause;
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new NetworkError(`Request ${endpoint} failed: ${reason}${code ? ` (${code})` : ""}`, {
    cause: err,
    code,
    transient: code !== undefined && (TRANSIENT_CODES.has(code) || code.startsWith("ERR_SSL_")),
  });
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  expected?: unknown;
  errors?: ZodIssueLike[][];
  issues?: ZodIssueLike[];
}

/** zod's issues as jira.js reports them: dotted path, what was expected, and the type (never the value) found. */
function describeIssues(
  issues: readonly ZodIssueLike[],
  body: unknown,
  base: PropertyKey[] = [],
): SchemaMismatchReport["issues"] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors)
      return issue.errors.flatMap((branch) => describeIssues(branch, body, path));
    if ((issue.code === "invalid_key" || issue.code === "invalid_element") && issue.issues)
      return describeIssues(issue.issues, body, path);
    let value: unknown = body;
    for (const segment of path)
      value =
        value !== null && typeof value === "object"
          ? (value as Record<PropertyKey, unknown>)[segment]
          : undefined;
    return [
      {
        path: path.map(String).join("."),
        expected: issue.code === "invalid_type" ? String(issue.expected) : issue.code,
        received: value === null ? "null" : Array.isArray(value) ? "array" : typeof value,
      },
    ];
  });
}

/** Calls `report` once per endpoint, field and expectation: one drifted field on every answer is one line. */
function onceEach(report: (r: SchemaMismatchReport) => void): (r: SchemaMismatchReport) => void {
  const seen = new Set<string>();
  return (r) => {
    const fresh = r.issues.filter((i) => {
      const key = `${r.endpoint.replace(/\/\d+|\/[A-Z][A-Z0-9]*-\d+/g, "/{id}")}|${i.path.replace(/\.\d+(?=\.|$)/g, ".[]")}|${i.expected}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (fresh.length > 0) report({ ...r, issues: fresh });
  };
}

function warnOnStderr(report: SchemaMismatchReport): void {
  const where = report.issues.map((i) => `${i.path || "(root)"}: expected ${i.expected}, got ${i.received}`);
  process.stderr.write(
    `[jira] ${report.endpoint} answered with something jira.js's schema does not describe (used unvalidated): ${where.join("; ")}\n`,
  );
}

function parseProjects(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of text
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]*)=([A-Z][A-Z0-9]*(?:,[A-Z][A-Z0-9]*)*)$/.exec(part);
    if (!m) throw new Error(`TICKETS_PROJECTS: "${part}" must look like tenant=KEY1,KEY2`);
    map.set(m[1]!, m[2]!.split(","));
  }
  return map;
}
