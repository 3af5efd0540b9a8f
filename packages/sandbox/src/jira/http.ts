/** Jira's HTTP vocabulary, shared by every resource: its error bodies, request parsing and paging parameters. */
import type { Answer } from "../stand-in/server.ts";

export const JSON_TYPE = "application/json;charset=UTF-8";

export const ERR_AUTH = "Client must be authenticated to access this resource.";
export const ERR_ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it.";
export const ERR_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again.";

/** A refusal in Jira's shape; the router turns it into `{ errorMessages, errors }` with its status. */
export class HttpError extends Error {
  readonly status: number;
  readonly errorMessages: string[];
  readonly errors: Record<string, string>;

  constructor(status: number, errorMessages: string[], errors: Record<string, string> = {}) {
    super(errorMessages[0] ?? Object.values(errors)[0] ?? `HTTP ${status}`);
    this.status = status;
    this.errorMessages = errorMessages;
    this.errors = errors;
  }
}

export const badRequest = (messages: string[], errors: Record<string, string> = {}) =>
  new HttpError(400, messages, errors);
export const issueNotFound = () => new HttpError(404, [ERR_ISSUE_NOT_FOUND]);

export function noRoute(method: string, path: string) {
  return new HttpError(404, [`No resource found for ${method} ${path}.`]);
}

export function allow(method: string, methods: string[], path: string) {
  if (!methods.includes(method)) throw new HttpError(405, [`Method ${method} is not allowed for ${path}.`]);
}

export const ok = (status: number, body: unknown): Answer => ({ status, body });

/** Jira's error answer: `errorMessages` and no field errors. */
export const jiraError = (
  status: number,
  messages: string[],
  headers: Record<string, string> = {},
): Answer => ({
  status,
  body: { errorMessages: messages, errors: {} },
  headers,
});

/** Parses a JSON request body; an empty body is `{}`. */
export function json(rawBody: string): unknown {
  if (rawBody.trim() === "") return {};
  try {
    return JSON.parse(rawBody);
  } catch {
    throw badRequest([ERR_PAYLOAD]);
  }
}

export function object(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest([ERR_PAYLOAD]);
  return v as Record<string, unknown>;
}

export function nonNegativeInt(v: string | null): number | undefined {
  if (v === null || !/^[0-9]+$/.test(v)) return undefined;
  return Number(v);
}

/** A `startAt` / `maxResults` query parameter: absent is the default, anything but a whole number is a 400. */
export function pageParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return fallback;
  const n = nonNegativeInt(raw);
  if (n === undefined) throw badRequest([`The value '${raw}' is not valid for the parameter '${name}'.`]);
  return n;
}

export function positiveInt(v: string | null): number | undefined {
  const n = nonNegativeInt(v);
  return n === undefined || n === 0 ? undefined : n;
}
