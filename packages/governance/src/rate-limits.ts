import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Identity } from "./identity.ts";

export interface RateLimit {
  points: number;
  durationSeconds: number;
}

export interface RateLimitConfig {
  perUser: RateLimit;
  perTenant: RateLimit;
  perTool: RateLimit;
}

/** Parses "120/60s" (120 calls per 60 seconds). */
export function parseRateLimit(text: string): RateLimit {
  const m = /^(\d+)\/(\d+)s$/.exec(text.trim());
  // Zero calls would refuse everything; a zero window never resets in rate-limiter-flexible.
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new Error(
      `bad rate limit "${text}": expected <calls>/<seconds>s with both at least 1, e.g. 120/60s`,
    );
  return { points: Number(m[1]), durationSeconds: Number(m[2]) };
}

export type RateBucket = "user" | "tenant" | "tool";

export type RateDecision =
  | { ok: true }
  | { ok: false; bucket: RateBucket; retryAfterSeconds: number }
  /** The counters could not be reached: the call is refused (fail closed), `reason` says why. */
  | { ok: false; bucket: "unavailable"; reason: string; retryAfterSeconds: number };

/** Where the buckets' counters live: this process's memory, or a store every replica shares. */
export interface RateLimitStore {
  /** Where the counters are, for messages and logs (never a password). */
  readonly location: string;
  limiter(bucket: RateBucket, limit: RateLimit): RateLimiterAbstract;
  /**
   * Why the counters cannot be reached, from an error a limiter threw; undefined when the error is not
   * the store's (a bug, thrown on).
   */
  unavailable(err: unknown): string | undefined;
  /** Resolves once the counters answer; rejects with a message naming the problem. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** In-process counters: one replica's own (the default). */
export const memoryRateLimitStore: RateLimitStore = {
  location: "in process",
  limiter: (_bucket, l) => new RateLimiterMemory({ points: l.points, duration: l.durationSeconds }),
  unavailable: () => undefined,
  ping: async () => {},
  close: async () => {},
};

/** How long a caller refused for unreachable counters should wait: about one reconnect attempt. */
const UNAVAILABLE_RETRY_SECONDS = 2;

/**
 * Token buckets per user, per tenant and per tool: in process by default, or in a store shared by every
 * replica (see redis-rate-limits.ts). When a shared store cannot be reached, calls are refused, never
 * waved through.
 */
export class RateLimits {
  private readonly user: RateLimiterAbstract;
  private readonly tenant: RateLimiterAbstract;
  private readonly tool: RateLimiterAbstract;
  private readonly store: RateLimitStore;

  constructor(config: RateLimitConfig, store: RateLimitStore = memoryRateLimitStore) {
    this.store = store;
    this.user = store.limiter("user", config.perUser);
    this.tenant = store.limiter("tenant", config.perTenant);
    this.tool = store.limiter("tool", config.perTool);
  }

  /** Where the counters live ("in process", or e.g. "Redis at 10.0.0.5:6379"). */
  get location(): string {
    return this.store.location;
  }

  /** Resolves when calls can be counted (for start-up and readiness checks); rejects saying why not. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  async consume(identity: Identity, tool: string): Promise<RateDecision> {
    const checks: Array<[RateBucket, RateLimiterAbstract, string]> = [
      ["user", this.user, identity.user],
      ["tenant", this.tenant, identity.tenant],
      ["tool", this.tool, tool],
    ];
    const taken: Array<[RateLimiterAbstract, string]> = [];
    // A failed reward (the store gone in between) only leaves a point spent until the window ends.
    const giveBack = () => Promise.allSettled(taken.map(([l, k]) => l.reward(k)));
    for (const [bucket, limiter, key] of checks) {
      try {
        await limiter.consume(key);
        taken.push([limiter, key]);
      } catch (res) {
        if (res instanceof RateLimiterRes) {
          // A refused call costs nothing: give back what the earlier buckets took.
          await giveBack();
          return { ok: false, bucket, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
        }
        const reason = this.store.unavailable(res);
        if (reason === undefined) throw res;
        // Not awaited: the store is failing, and the refusal should not wait for it a second time.
        void giveBack();
        return { ok: false, bucket: "unavailable", reason, retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS };
      }
    }
    return { ok: true };
  }
}
