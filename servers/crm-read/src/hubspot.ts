import { type ToolContext, ToolError } from "@gatehouse/kit";
import { Client } from "@hubspot/api-client";
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";

export interface HubSpotConfig {
  baseUrl: string;
  accessToken: string;
  /** Per attempt. */
  timeoutMs: number;
  maxAttempts: number;
  /** The most a call may spend waiting between attempts; a longer Retry-After fails fast instead. */
  retryBudgetMs: number;
  /** Consecutive failures that open the circuit, and how long it stays open. */
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
}

/** What the @hubspot/api-client throws for an HTTP error (its generated ApiException). */
interface HubSpotHttpError extends Error {
  code: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function httpError(err: unknown): HubSpotHttpError | undefined {
  const e = err as Partial<HubSpotHttpError>;
  return err instanceof Error && typeof e.code === "number" && e.code >= 100
    ? (e as HubSpotHttpError)
    : undefined;
}

/** 429, 5xx, timeouts and broken connections are worth another try; 4xx answers and an open circuit are not. */
function retryable(err: Error): boolean {
  if (err instanceof BrokenCircuitError || err instanceof ToolError) return false;
  const http = httpError(err);
  return http ? http.code === 429 || http.code >= 500 : true;
}

/** What says HubSpot is down (5xx, timeouts, broken connections); being rate limited is not being down. */
function outage(err: Error): boolean {
  const http = httpError(err);
  return http ? http.code >= 500 : !(err instanceof ToolError);
}

function retryAfterMs(err: unknown): number {
  const header = httpError(err)?.headers?.["retry-after"];
  const seconds = header ? Number(header) : Number.NaN;
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

function policyName(err: unknown): string | undefined {
  const body = httpError(err)?.body as { policyName?: unknown } | undefined;
  return typeof body?.policyName === "string" ? body.policyName : undefined;
}

/** Exponential backoff with jitter that never retries sooner than HubSpot's Retry-After. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly baseMs = 200,
    private readonly capMs = 4_000,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const exp = Math.min(this.capMs, this.baseMs * 2 ** (context.attempt - 1));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    const fromHeader = "error" in context.result ? retryAfterMs(context.result.error) : 0;
    return { duration: Math.max(jittered, fromHeader), next: (c) => this.next(c) };
  }
}

/** Raised before a retry whose wait would break the call's budget: fail now, say when to come back. */
class BudgetExceeded extends Error {
  constructor(
    readonly lastError: unknown,
    readonly waitMs: number,
  ) {
    super("retry budget exceeded");
  }
}

/**
 * HubSpot behind timeouts, bounded retries that honour 429 Retry-After, and a circuit breaker that
 * fails fast while HubSpot is down. Every call reports its upstream status and attempts to the audit
 * event; every failure becomes a ToolError that tells the agent what happened and what to do.
 */
export class HubSpotGateway {
  readonly client: Client;
  private readonly breaker;

  constructor(private readonly config: HubSpotConfig) {
    // The client's own retries are off: this gateway owns the retry budget, so attempts are counted.
    this.client = new Client({
      accessToken: config.accessToken,
      basePath: config.baseUrl,
      numberOfApiCallRetries: 0,
    });
    this.breaker = circuitBreaker(handleWhen(outage), {
      halfOpenAfter: config.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(config.breakerThreshold),
    });
  }

  async call<T>(
    ctx: Pick<ToolContext<unknown>, "annotate" | "signal">,
    operation: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    let attempts = 0;
    let lastStatus: number | string = "none";
    const started = Date.now();
    const budget = this.config.retryBudgetMs;
    const backoff = new RetryAfterBackoff();
    const retryPolicy = retry(handleWhen(retryable), {
      maxAttempts: this.config.maxAttempts - 1,
      backoff: {
        next: (context) => {
          const b = backoff.next(context);
          const waitMs = b.duration;
          if (Date.now() - started + waitMs > budget)
            throw new BudgetExceeded("error" in context.result ? context.result.error : undefined, waitMs);
          return b;
        },
      },
    });
    const perAttempt = timeout(this.config.timeoutMs, TimeoutStrategy.Aggressive);
    const report = () =>
      ctx.annotate("upstream", {
        system: "hubspot",
        operation,
        status: lastStatus,
        attempts,
        ms: Date.now() - started,
      });
    try {
      const result = await wrap(retryPolicy, this.breaker, perAttempt).execute(async () => {
        attempts++;
        try {
          const value = await fn();
          lastStatus = 200;
          return value;
        } catch (err) {
          lastStatus = httpError(err)?.code ?? (err instanceof TaskCancelledError ? "timeout" : "network");
          throw err;
        }
      }, ctx.signal);
      report();
      return result;
    } catch (err) {
      if (err instanceof TaskCancelledError) lastStatus = "timeout";
      report();
      throw this.explain(err, attempts, Date.now() - started);
    }
  }

  private explain(err: unknown, attempts: number, ms: number): ToolError {
    const tries = `${attempts} attempt${attempts === 1 ? "" : "s"} over ${(ms / 1000).toFixed(1)} s`;
    if (err instanceof BrokenCircuitError) {
      return new ToolError(
        `HubSpot is unavailable (too many recent failures); not calling it for up to ${Math.ceil(this.config.breakerHalfOpenAfterMs / 1000)} s. Try again shortly.`,
      );
    }
    if (err instanceof BudgetExceeded) {
      return new ToolError(
        `HubSpot is rate limiting${policyName(err.lastError) ? ` (${policyName(err.lastError)})` : ""}; gave up after ${tries} rather than wait ${Math.ceil(err.waitMs / 1000)} s more. Try again in a few seconds.`,
      );
    }
    if (err instanceof TaskCancelledError)
      return new ToolError(`HubSpot did not answer in time (${tries}). Try again later.`);
    const http = httpError(err);
    if (http?.code === 429)
      return new ToolError(
        `HubSpot is rate limiting${policyName(err) ? ` (${policyName(err)})` : ""}; gave up after ${tries}. Try again in a few seconds.`,
      );
    if (http && http.code >= 500)
      return new ToolError(`HubSpot failed (HTTP ${http.code}) after ${tries}. Try again later.`);
    if (http?.code === 401 || http?.code === 403)
      return new ToolError(
        "HubSpot refused Gatehouse's credentials; an operator must check the crm-read server's HubSpot token.",
      );
    if (http?.code === 404) return new ToolError("HubSpot has no such record.");
    if (http?.code === 400)
      return new ToolError("HubSpot rejected the query as invalid; narrow or simplify it.");
    if (err instanceof ToolError) return err;
    return new ToolError(
      `HubSpot could not be reached or answered something unreadable (${tries}). Try again later.`,
    );
  }
}
