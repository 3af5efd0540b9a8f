import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
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

export type RateDecision =
  | { ok: true }
  | { ok: false; bucket: "user" | "tenant" | "tool"; retryAfterSeconds: number };

/**
 * Token buckets per user, per tenant and per tool, in process. A replicated deployment swaps in
 * rate-limiter-flexible's Redis or PostgreSQL limiter behind the same interface.
 */
export class RateLimits {
  private readonly user: RateLimiterMemory;
  private readonly tenant: RateLimiterMemory;
  private readonly tool: RateLimiterMemory;

  constructor(config: RateLimitConfig) {
    const make = (l: RateLimit) => new RateLimiterMemory({ points: l.points, duration: l.durationSeconds });
    this.user = make(config.perUser);
    this.tenant = make(config.perTenant);
    this.tool = make(config.perTool);
  }

  async consume(identity: Identity, tool: string): Promise<RateDecision> {
    const checks: Array<["user" | "tenant" | "tool", RateLimiterMemory, string]> = [
      ["user", this.user, identity.user],
      ["tenant", this.tenant, identity.tenant],
      ["tool", this.tool, tool],
    ];
    const taken: Array<[RateLimiterMemory, string]> = [];
    for (const [bucket, limiter, key] of checks) {
      try {
        await limiter.consume(key);
        taken.push([limiter, key]);
      } catch (res) {
        // A refused call costs nothing: give back what the earlier buckets took.
        await Promise.all(taken.map(([l, k]) => l.reward(k)));
        if (res instanceof RateLimiterRes) {
          return { ok: false, bucket, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
        }
        throw res;
      }
    }
    return { ok: true };
  }
}
