import { RollingWindow } from "../stand-in/server.ts";

const MINUTE = 60_000;

/** Per-account rolling one-minute window. Only requests that were let through are counted. */
export class RateLimiter {
  #window = new RollingWindow(MINUTE);

  readonly perMinute: number;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  take(
    key: string,
  ): { ok: true; headers: Record<string, string> } | { ok: false; headers: Record<string, string> } {
    const now = Date.now();
    const hits = this.#window.hits(key, now);
    if (hits.length >= this.perMinute) {
      return {
        ok: false,
        headers: {
          "retry-after": String(this.#window.retryAfter(hits, now)),
          ...this.#headers(0, hits[0]! + MINUTE),
          "ratelimit-reason": "jira-quota-tenant-based",
        },
      };
    }
    hits.push(now);
    return { ok: true, headers: this.#headers(this.perMinute - hits.length, hits[0]! + MINUTE) };
  }

  /** The headers of a 429 not caused by this limiter (a `status` fault). */
  refusedHeaders(retryAfterSeconds: number): Record<string, string> {
    return {
      "retry-after": String(retryAfterSeconds),
      ...this.#headers(0, Date.now() + retryAfterSeconds * 1000),
      "ratelimit-reason": "jira-burst-based",
    };
  }

  #headers(remaining: number, resetAt: number): Record<string, string> {
    const headers: Record<string, string> = {
      "x-ratelimit-limit": String(this.perMinute),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": new Date(resetAt).toISOString(),
    };
    if (remaining < this.perMinute * 0.2) headers["x-ratelimit-nearlimit"] = "true";
    return headers;
  }

  reset(): void {
    this.#window.clear();
  }
}
