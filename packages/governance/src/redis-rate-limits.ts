import { Redis } from "ioredis";
import { type IRateLimiterRedisOptions, RateLimiterRedis, type RateLimiterRes } from "rate-limiter-flexible";
import type { RateBucket, RateLimit, RateLimitStore } from "./rate-limits.ts";

export interface RedisRateLimitOptions {
  /** `redis://` or `rediss://` (TLS); may carry a password and a database number. */
  url: string;
  /**
   * Prefix of every key: replicas that share it share their buckets. Default `gatehouse:rl`; keys are
   * `<prefix>:<bucket>:<user|tenant|tool>`.
   */
  keyPrefix?: string;
  /** How long one command may take before the call is refused (fail fast, never hang). Default 500 ms. */
  commandTimeoutMs?: number;
  /** How long connecting may take. Default 2000 ms. */
  connectTimeoutMs?: number;
}

/** "Redis at host:port" from a Redis URL: what messages name, never the password. */
export function redisLocation(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "Redis (unparseable REDIS_URL)";
  }
  return `Redis at ${u.hostname || "127.0.0.1"}:${u.port || "6379"}${u.protocol === "rediss:" ? " (TLS)" : ""}`;
}

/** A connection problem in a few words, from the socket's error code (never the error's text). */
function connectionProblem(err: unknown): string | undefined {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = String(e.code ?? "");
  const message = typeof e.message === "string" ? e.message : "";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "no such host";
  if (code === "ETIMEDOUT" || /^connect ETIMEDOUT/.test(message)) return "timed out connecting";
  if (code === "ECONNRESET" || code === "EPIPE") return "connection closed";
  if (/^(NOAUTH|WRONGPASS)/.test(message)) return "credentials refused";
  if (code) return code;
  return undefined;
}

/** The error a command past its deadline rejects with (the message ioredis's own timeout uses). */
const TIMED_OUT = "Command timed out";

/**
 * `p`, or a "Command timed out" rejection if it has not settled `ms` after the call. The deadline is judged
 * only after this process has read what arrived on its sockets meanwhile: the timer defers its verdict by one
 * turn of the event loop (setImmediate runs after the poll phase). A plain timer, as ioredis's commandTimeout
 * is, fires in the timers phase, before the poll phase reads replies; so a replica kept off the CPU for longer
 * than the timeout (a long synchronous stretch, an oversubscribed machine) refused calls whose answers had
 * arrived in time. A Redis that really did not answer is still refused once the deadline has passed.
 */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => setImmediate(() => reject(new Error(TIMED_OUT))), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** RateLimiterRedis whose consume and reward fail past a deadline (see withDeadline). */
class DeadlineRateLimiterRedis extends RateLimiterRedis {
  private readonly deadlineMs: number;

  constructor(opts: IRateLimiterRedisOptions, deadlineMs: number) {
    super(opts);
    this.deadlineMs = deadlineMs;
  }

  override consume(
    key: string | number,
    points?: number,
    options?: { [key: string]: unknown },
  ): Promise<RateLimiterRes> {
    return withDeadline(super.consume(key, points, options), this.deadlineMs);
  }

  override reward(
    key: string | number,
    points?: number,
    options?: { [key: string]: unknown },
  ): Promise<RateLimiterRes> {
    return withDeadline(super.reward(key, points, options), this.deadlineMs);
  }
}

/**
 * Counters in Redis, shared by every replica that uses the same URL and key prefix (rate-limiter-flexible's
 * RateLimiterRedis: one atomic Lua increment per bucket). The client is bounded so a call never waits on
 * Redis for long: no offline queue, a deadline per command (withDeadline), no retried commands; it reconnects in the
 * background, and calls pass again as soon as Redis answers. It connects on the first `ping()` (the
 * start-up check); calls before that are refused.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly location: string;
  private readonly client: Redis;
  private readonly keyPrefix: string;
  private readonly commandTimeoutMs: number;
  /** Why the connection last failed, for the refusal's message (cleared when it is ready again). */
  private lastProblem: string | undefined;

  constructor(opts: RedisRateLimitOptions) {
    this.location = redisLocation(opts.url);
    this.keyPrefix = opts.keyPrefix ?? "gatehouse:rl";
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 500;
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      // No commandTimeout: its plain timer misjudges a busy process (see withDeadline, which bounds commands).
      // A command sent while disconnected fails at once instead of waiting for a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Reconnect forever, in the background, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    // Without a listener ioredis prints each error (with its stack) to the console.
    this.client.on("error", (err: unknown) => {
      this.lastProblem = connectionProblem(err) ?? this.lastProblem;
    });
    this.client.on("ready", () => {
      this.lastProblem = undefined;
    });
    // Until the first reconnect attempt says more.
    this.client.on("close", () => {
      this.lastProblem ??= "connection closed";
    });
  }

  limiter(bucket: RateBucket, limit: RateLimit): RateLimiterRedis {
    return new DeadlineRateLimiterRedis(
      {
        storeClient: this.client,
        keyPrefix: `${this.keyPrefix}:${bucket}`,
        points: limit.points,
        duration: limit.durationSeconds,
        // Refuse at once while reconnecting rather than send into a socket that is not ready.
        rejectIfRedisNotReady: true,
      },
      this.commandTimeoutMs,
    );
  }

  unavailable(err: unknown): string {
    return `rate limits are unavailable: ${this.location} ${this.problem(err)}`;
  }

  async ping(): Promise<void> {
    try {
      if (this.client.status === "wait") await this.client.connect();
      await withDeadline(this.client.ping(), this.commandTimeoutMs);
    } catch (err) {
      throw new Error(this.unavailable(err));
    }
  }

  async close(): Promise<void> {
    // Not quit(): it would wait on a Redis that may be gone; this also stops reconnecting.
    this.client.disconnect();
  }

  /** What went wrong, in words for the caller and the audit trail (no password, no raw error text). */
  private problem(err: unknown): string {
    const message = err instanceof Error ? err.message : "";
    if (message === TIMED_OUT) return `did not answer within ${this.commandTimeoutMs} ms`;
    if (/^(NOAUTH|WRONGPASS)/.test(message))
      return "refused the credentials; check the user and password in REDIS_URL";
    const connection = connectionProblem(err);
    if (connection) return `is unreachable (${connection})`;
    if (
      /^Stream isn't writeable|^Redis connection is not ready|^Connection is closed/.test(message) ||
      err?.constructor?.name === "MaxRetriesPerRequestError"
    )
      return `is unreachable (${this.lastProblem ?? "not connected"})`;
    // A Redis error reply starts with its code (OOM, READONLY, LOADING…); the rest may quote data.
    const code = /^[A-Z]{3,}\b/.exec(message)?.[0];
    return code ? `refused the command (${code})` : "failed";
  }
}
