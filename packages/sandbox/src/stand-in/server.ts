/**
 * The HTTP plumbing the stand-ins share: one request's way through counting, the size-limited body, the
 * `/__sandbox` control routes, injected faults (latency, held requests, status, malformed, commit-then-*),
 * and the stand-in's own answer; plus listening, and closing with requests still held.
 *
 * Control routes (no auth, not counted): `GET|POST|DELETE /__sandbox/faults`, `GET /__sandbox/requests[?prefix=]`,
 * `DELETE /__sandbox/rate-limits`, and whatever the stand-in adds with `control`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type Fault, FaultRegistry, type FaultSpec, type StatusFault } from "./faults.ts";

/** A complete answer: status, JSON body (none when undefined) and extra headers. */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StandInOptions<F extends Fault> {
  port: number;
  host: string;
  faults: FaultSpec<F>;
  /** The content type of JSON bodies, as the real service spells it. */
  contentType: string;
  /** Headers every answer carries (the answer's own headers override them). */
  headers(answer: Answer): Record<string, string>;
  /** The answer to a body over the size limit. */
  tooLarge(): Answer;
  /** The body of the 500 sent when handling a request throws. */
  internalError(): unknown;
  /** The answer to a `status` fault. */
  statusFault(fault: StatusFault<F>): Answer;
  /** The truncated JSON a `malformed` fault answers with. */
  malformedBody: string;
  /** Forgets the rate-limit windows (`DELETE /__sandbox/rate-limits`). */
  resetRateLimits(): void;
  /** Further control routes; undefined for "not found". */
  control?(method: string, path: string, q: URLSearchParams): Answer | undefined;
  /** The stand-in's answer to a request no fault replaced: authentication, rate limits, routes. */
  answer(request: StandInRequest): Answer;
}

/** A request as a stand-in's `answer` sees it: counted, its body read, past the faults that replace answers. */
export interface StandInRequest {
  req: IncomingMessage;
  /** Upper case. */
  method: string;
  path: string;
  q: URLSearchParams;
  rawBody: string;
}

export interface StandIn<F extends Fault> {
  url: string;
  faults: FaultRegistry<F>;
  /** Requests received (every status, faulted ones included; control routes excluded), optionally by path prefix. */
  requestCount(pathPrefix?: string): number;
  close(): Promise<void>;
}

const MAX_BODY = 1_000_000;

export async function startStandIn<F extends Fault>(opts: StandInOptions<F>): Promise<StandIn<F>> {
  const counts = new Map<string, number>();
  const held = new Set<() => void>();
  const shutdown = new AbortController();
  const faults = new FaultRegistry(opts.faults, () => {
    const release = [...held];
    held.clear();
    for (const resume of release) resume();
  });

  const send = (res: ServerResponse, a: Answer) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(a.status, { ...opts.headers(a), ...a.headers });
    res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
  };
  /** Sends `body` as is, with only the content type. */
  const sendRaw = (res: ServerResponse, status: number, body: string) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { "content-type": opts.contentType });
    res.end(body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", "http://sandbox");
    const path = u.pathname;
    const method = (req.method ?? "GET").toUpperCase();

    const control = path.startsWith("/__sandbox/");
    if (!control) counts.set(path, (counts.get(path) ?? 0) + 1);

    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch {
      return send(res, opts.tooLarge());
    }

    // Control routes (sandbox only, no auth, not counted).
    if (control) return send(res, controlRoute(method, path, u.searchParams, rawBody));

    const plan = faults.plan(method, path);
    if (plan.delayMs > 0) {
      try {
        await sleep(plan.delayMs, undefined, { signal: shutdown.signal });
      } catch {
        return; // closing
      }
    }
    const fault: Fault | undefined = plan.terminal;
    if (fault?.kind === "timeout") {
      if (await hold(res)) return; // client gone or closing; otherwise cleared: answer normally
    } else if (fault?.kind === "status") {
      return send(res, opts.statusFault(fault as StatusFault<F>));
    } else if (fault?.kind === "malformed") {
      return sendRaw(res, 200, opts.malformedBody);
    }

    const answer = opts.answer({ req, method, path, q: u.searchParams, rawBody });

    if (fault?.kind === "commit-then-timeout") {
      if (await hold(res)) return; // the change is applied; the answer is lost with the connection
    } else if (fault?.kind === "commit-then-drop") {
      req.socket.destroy();
      return;
    }
    send(res, answer);
  }

  /** Holds a request until the faults are cleared (false) or the client goes / the server closes (true). */
  async function hold(res: ServerResponse): Promise<boolean> {
    let gone = false;
    await new Promise<void>((resume) => {
      held.add(resume);
      res.once("close", () => {
        gone = true;
        held.delete(resume);
        resume();
      });
    });
    return gone || shutdown.signal.aborted;
  }

  function controlRoute(method: string, path: string, q: URLSearchParams, rawBody: string): Answer {
    if (path === "/__sandbox/faults") {
      if (method === "GET") return { status: 200, body: { active: faults.active() } };
      if (method === "DELETE") {
        faults.clear();
        return { status: 204 };
      }
      if (method === "POST") {
        try {
          faults.set(JSON.parse(rawBody));
        } catch (e) {
          return { status: 400, body: { error: "bad_fault", message: (e as Error).message } };
        }
        return { status: 200, body: { active: faults.active() } };
      }
      return { status: 405, body: { error: "method_not_allowed" } };
    }
    if (path === "/__sandbox/requests" && method === "GET")
      return { status: 200, body: { count: requestCount(q.get("prefix") ?? undefined) } };
    if (path === "/__sandbox/rate-limits" && method === "DELETE") {
      opts.resetRateLimits();
      return { status: 204 };
    }
    return opts.control?.(method, path, q) ?? { status: 404, body: { error: "not_found" } };
  }

  function requestCount(pathPrefix?: string): number {
    let n = 0;
    for (const [path, c] of counts) if (!pathPrefix || path.startsWith(pathPrefix)) n += c;
    return n;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => sendRaw(res, 500, JSON.stringify(opts.internalError())));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    faults,
    requestCount,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        held.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("too large"));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The `Retry-After` header of a fault that names one, else none. */
export const retryAfterHeader = (fault: { retryAfterSeconds?: number }): Record<string, string> =>
  fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {};

/** A comma-separated (or repeated) list parameter, or undefined when absent or empty. */
export function listParam(q: URLSearchParams, name: string): string[] | undefined {
  const list = q
    .getAll(name)
    .flatMap((v) => v.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return list.length > 0 ? list : undefined;
}

/** Per-key timestamps of the requests let through in a rolling window of `span` ms. */
export class RollingWindow {
  #hits = new Map<string, number[]>();

  readonly span: number;

  constructor(span: number) {
    this.span = span;
  }

  /** The key's hits still inside the window at `now`; push `now` onto it to record one more. */
  hits(key: string, now: number): number[] {
    const hits = (this.#hits.get(key) ?? []).filter((t) => now - t < this.span);
    this.#hits.set(key, hits);
    return hits;
  }

  /** Whole seconds (at least 1) until the oldest of `hits` leaves the window. */
  retryAfter(hits: number[], now: number): number {
    return Math.max(1, Math.ceil((hits[0]! + this.span - now) / 1000));
  }

  clear(): void {
    this.#hits.clear();
  }
}
