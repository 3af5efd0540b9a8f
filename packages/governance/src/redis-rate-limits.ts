import { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
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

/**
 * Counters in Redis, shared by every replica that uses the same URL and key prefix (rate-limiter-flexible's
 * RateLimiterRedis: one atomic Lua increment per bucket). The client is bounded so a call never waits on
 * Redis for long: no offline queue, a command timeout, no retried commands; it reconnects in the
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
      commandTimeout: this.commandTimeoutMs,
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
    return new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix: `${this.keyPrefix}:${bucket}`,
      points: limit.points,
      duration: limit.durationSeconds,
      // Refuse at once while reconnecting rather than send into a socket that is not ready.
      rejectIfRedisNotReady: true,
    });
  }

  unavailable(err: unknown): string {
    return `rate limits are unavailable: ${this.location} ${this.problem(err)}`;
  }

  async ping(): Promise<void> {
    try {
      if (this.client.status === "wait") await this.client.connect();
      await this.client.ping();
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
    if (message === "Command timed out") return `did not answer within ${this.commandTimeoutMs} ms`;
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
