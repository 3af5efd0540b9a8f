import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { Upstream, type UpstreamConfig, UpstreamError } from "../src/upstream.ts";

/** What a vendor client throws for an HTTP answer, in the shape the fake's error mapping reads. */
class HttpError extends Error {
  readonly code: number;
  readonly retryAfterMs: number;

  constructor(code: number, retryAfterMs = 0) {
    super(`HTTP ${code}`);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

const config = (overrides: Partial<UpstreamConfig> = {}): UpstreamConfig => ({
  timeoutMs: 50,
  maxAttempts: 4,
  retryBudgetMs: 300,
  breakerThreshold: 100,
  breakerHalfOpenAfterMs: 1_000,
  ...overrides,
});

const upstream = (overrides: Partial<UpstreamConfig> = {}) =>
  new Upstream("Vendor", config(overrides), {
    status: (err) => (err instanceof HttpError ? err.code : undefined),
    retryAfterMs: (err) => (err instanceof HttpError ? err.retryAfterMs : 0),
    rateLimitLabel: (err) => (err instanceof HttpError && err.code === 429 ? "SECONDLY" : undefined),
  });

/** A caller's context that keeps every annotation, so a late write would show. */
function context() {
  const annotations: Array<Record<string, unknown>> = [];
  return {
    ctx: {
      signal: new AbortController().signal,
      annotate: (key: string, value: unknown) => {
        if (key === "upstream") annotations.push(value as Record<string, unknown>);
      },
    },
    annotations,
  };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe("Upstream reports what happened", () => {
  it("tells a timeout from rate limiting, even when the retry budget ends a call that timed out", async () => {
    const { ctx, annotations } = context();
    let calls = 0;
    const err = await failure(
      upstream().call(ctx, "op", () => {
        calls++;
        return new Promise(() => {});
      }),
    );
    expect(err.message).toMatch(/^Vendor did not answer in time \(\d attempts? over [\d.]+ s\)/);
    expect(err.message).not.toMatch(/rate limit/);
    expect(err.status).toBeUndefined();
    expect(err.outcomeUnknown).toBe(true);
    expect(annotations).toEqual([expect.objectContaining({ status: "timeout", attempts: calls })]);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(4); // the budget, not the attempts, ended it

    // A real 429 that asks for a longer wait than the budget allows is rate limiting.
    const limited = context();
    const rateLimited = await failure(
      upstream().call(limited.ctx, "op", async () => {
        throw new HttpError(429, 1_000);
      }),
    );
    expect(rateLimited.message).toMatch(
      /^Vendor is rate limiting \(SECONDLY\); gave up after 1 attempt over [\d.]+ s rather than wait 1 s more/,
    );
    expect(rateLimited.status).toBe(429);
    expect(limited.annotations).toEqual([expect.objectContaining({ status: 429, attempts: 1 })]);
  });

  it("keeps the audited status and attempts of attempts that answered after they were cancelled", async () => {
    const { ctx, annotations } = context();
    let calls = 0;
    // Answers 200 after 80 ms, past the 50 ms per-attempt timeout, whether or not it was cancelled.
    const slow = () => {
      calls++;
      return sleep(80).then(() => "late");
    };
    const err = await failure(upstream().call(ctx, "op", slow));
    const attemptsAtFailure = calls;
    expect(err.message).toMatch(/did not answer in time/);
    expect(annotations).toEqual([
      expect.objectContaining({ status: "timeout", attempts: attemptsAtFailure }),
    ]);
    await sleep(150); // every late answer has landed
    expect(annotations).toHaveLength(1);
    expect(calls).toBe(attemptsAtFailure);
  });

  it("reports a 503 that outlasts the retry budget as a failure, not rate limiting", async () => {
    const { ctx, annotations } = context();
    const err = await failure(
      upstream().call(ctx, "op", async () => {
        throw new HttpError(503, 1_000);
      }),
    );
    expect(err.message).toMatch(/^Vendor failed \(HTTP 503\) after 1 attempt over/);
    expect(err.status).toBe(503);
    expect(annotations).toEqual([expect.objectContaining({ status: 503, attempts: 1 })]);
  });

  it("reports a timeout after a 429 as a timeout: the last attempt's fate", async () => {
    const { ctx, annotations } = context();
    let calls = 0;
    const err = await failure(
      upstream().call(ctx, "op", async () => {
        if (++calls === 1) throw new HttpError(429, 60);
        return new Promise(() => {});
      }),
    );
    expect(err.message).toMatch(/^Vendor did not answer in time/);
    expect(annotations.at(-1)).toMatchObject({ status: "timeout", attempts: calls });
  });
});
