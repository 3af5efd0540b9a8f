import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { ToolContext } from "./define-tool.ts";
import { UpstreamTelemetry } from "./telemetry/upstream-spans.ts";
import { ToolError } from "./tool-error.ts";

export interface UpstreamConfig {
  /** Per attempt. */
  timeoutMs: number;
  maxAttempts: number;
  /** The most a call may spend waiting between attempts; a longer Retry-After fails now instead. */
  retryBudgetMs: number;
  /** Consecutive outages that open the circuit, and how long it stays open. */
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
  /** Where the system is; only its host name is used, as the spans' server.address. */
  baseUrl?: string;
}

/** How a vendor's client reports an HTTP answer in what it throws. */
export interface UpstreamErrors {
  /** The HTTP status of an error the client threw, when it carries one. */
  status(err: unknown): number | undefined;
  /** Retry-After in milliseconds, when the answer had one. */
  retryAfterMs(err: unknown): number;
  /** A short, safe label for a rate-limit answer (e.g. HubSpot's policy name). */
  rateLimitLabel?(err: unknown): string | undefined;
}

export interface UpstreamCallOptions {
  /**
   * false for calls that change something upstream (create an issue): then only answers that prove
   * nothing was applied (429) are retried, and anything else is left to the caller to reconcile.
   */
  idempotent?: boolean;
}

/** An attempt still under way. */
const PENDING = "pending";

/** Raised by the backoff when the next wait would break the call's budget. */
class BudgetExceeded extends Error {
  readonly lastError: unknown;
  readonly waitMs: number;

  constructor(lastError: unknown, waitMs: number) {
    super("retry budget exceeded");
    this.lastError = lastError;
    this.waitMs = waitMs;
  }
}

/**
 * A system the company does not own (HubSpot, Jira) behind timeouts, bounded retries with jittered
 * backoff that honour Retry-After, and a circuit breaker that fails fast while the system is down.
 * Each call reports status and attempts to the audit event and fails with a ToolError that tells the
 * agent what happened and what to do.
 */
export class Upstream {
  private readonly breaker;

  readonly system: string;
  private readonly config: UpstreamConfig;
  private readonly errors: UpstreamErrors;
  private readonly address: string | undefined;

  constructor(system: string, config: UpstreamConfig, errors: UpstreamErrors) {
    this.system = system;
    this.config = config;
    this.errors = errors;
    this.address = hostOf(config.baseUrl);
    this.breaker = circuitBreaker(
      handleWhen((err) => this.isOutage(err)),
      {
        halfOpenAfter: config.breakerHalfOpenAfterMs,
        breaker: new ConsecutiveBreaker(config.breakerThreshold),
      },
    );
  }

  /** 5xx, timeouts and broken connections say the system is down; being rate limited does not. */
  private isOutage(err: Error): boolean {
    const status = this.errors.status(err);
    return status !== undefined ? status >= 500 : !(err instanceof ToolError);
  }

  private isRetryable(err: Error, idempotent: boolean): boolean {
    if (err instanceof BrokenCircuitError || err instanceof ToolError) return false;
    const status = this.errors.status(err);
    if (status === 429) return true;
    if (!idempotent) return false;
    return status !== undefined ? status >= 500 : true;
  }

  /**
   * `fn` gets the attempt's signal: it aborts when the attempt times out or the caller's time is up, and
   * must reach the request itself, so an abandoned attempt cannot land later unseen.
   */
  async call<T>(
    ctx: Pick<ToolContext<unknown>, "annotate" | "signal">,
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    opts: UpstreamCallOptions = {},
  ): Promise<T> {
    const idempotent = opts.idempotent ?? true;
    // What each attempt came to, settled once: the first of its answer, its error, or its cancellation.
    // A cancelled attempt's late answer is no part of the call, so it changes nothing here.
    const outcomes: Array<number | string> = [];
    const started = Date.now();
    // A span for the call and one per attempt (retries visible), under the handler's span.
    const tel = new UpstreamTelemetry(this.system.toLowerCase(), operation, this.address);
    const { retryBudgetMs } = this.config;
    const nextBackoff = (context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> => {
      const exp = Math.min(4_000, 200 * 2 ** (context.attempt - 1));
      const fromHeader = "error" in context.result ? this.errors.retryAfterMs(context.result.error) : 0;
      const duration = Math.max(exp / 2 + Math.random() * (exp / 2), fromHeader);
      if (Date.now() - started + duration > retryBudgetMs) {
        throw new BudgetExceeded("error" in context.result ? context.result.error : undefined, duration);
      }
      return { duration, next: nextBackoff };
    };
    const policy = wrap(
      retry(
        handleWhen((err) => this.isRetryable(err, idempotent)),
        { maxAttempts: this.config.maxAttempts - 1, backoff: { next: nextBackoff } },
      ),
      this.breaker,
      timeout(this.config.timeoutMs, TimeoutStrategy.Aggressive),
    );
    const report = () => {
      // An attempt the call ended without (none should be) is reported as what it was: cut short.
      const last = outcomes.at(-1) === PENDING ? "timeout" : outcomes.at(-1);
      tel.end(last, outcomes.length);
      ctx.annotate("upstream", {
        system: this.system.toLowerCase(),
        operation,
        status: last ?? "none",
        attempts: outcomes.length,
        ms: Date.now() - started,
      });
    };
    try {
      const result = await policy.execute(async ({ signal }) => {
        const attempt = outcomes.push(PENDING) - 1;
        const attemptSettled = tel.attempt(attempt + 1);
        const settle = (outcome: number | string) => {
          if (outcomes[attempt] !== PENDING) return;
          outcomes[attempt] = outcome;
          attemptSettled(outcome);
        };
        // Timed out, or the caller's time is up: the attempt is over, whatever it answers later.
        const cancelled = () => settle("timeout");
        signal.addEventListener("abort", cancelled, { once: true });
        try {
          const value = await fn(signal);
          settle(200);
          return value;
        } catch (err) {
          settle(this.errors.status(err) ?? "network");
          throw err;
        } finally {
          signal.removeEventListener("abort", cancelled);
        }
      }, ctx.signal);
      report();
      return result;
    } catch (err) {
      report();
      throw this.explain(err, outcomes.length, Date.now() - started);
    }
  }

  /** Whether a failure from `call` left the upstream outcome unknown (the change may have happened). */
  static outcomeUnknown(err: unknown): boolean {
    return err instanceof UpstreamError && err.outcomeUnknown;
  }

  private explain(err: unknown, attempts: number, ms: number): UpstreamError {
    const s = this.system;
    const tries = `${attempts} attempt${attempts === 1 ? "" : "s"} over ${(ms / 1000).toFixed(1)} s`;
    const label = (e: unknown) => {
      const l = this.errors.rateLimitLabel?.(e);
      return l ? ` (${l})` : "";
    };
    if (err instanceof BrokenCircuitError) {
      return new UpstreamError(
        `${s} is unavailable (too many recent failures); not calling it for up to ${Math.ceil(this.config.breakerHalfOpenAfterMs / 1000)} s. Try again shortly.`,
        503,
        false,
      );
    }
    if (err instanceof BudgetExceeded) {
      // The retry budget ran out: say what the last attempt met (a timeout is not rate limiting).
      if (this.errors.status(err.lastError) !== 429) return this.explain(err.lastError, attempts, ms);
      return new UpstreamError(
        `${s} is rate limiting${label(err.lastError)}; gave up after ${tries} rather than wait ${Math.ceil(err.waitMs / 1000)} s more. Try again in a few seconds.`,
        429,
        false,
      );
    }
    if (err instanceof TaskCancelledError)
      return new UpstreamError(`${s} did not answer in time (${tries}). Try again later.`, undefined, true);
    const status = this.errors.status(err);
    if (status === 429)
      return new UpstreamError(
        `${s} is rate limiting${label(err)}; gave up after ${tries}. Try again in a few seconds.`,
        429,
        false,
      );
    if (status !== undefined && status >= 500)
      return new UpstreamError(`${s} failed (HTTP ${status}) after ${tries}. Try again later.`, status, true);
    if (status === 401 || status === 403)
      return new UpstreamError(
        `${s} refused Gatehouse's credentials; an operator must check this server's ${s} credential.`,
        status,
        false,
      );
    if (status === 404) return new UpstreamError(`${s} has no such record.`, 404, false);
    if (status === 400) return new UpstreamError(`${s} rejected the request as invalid.`, 400, false);
    if (err instanceof ToolError) return new UpstreamError(err.message, undefined, false);
    return new UpstreamError(
      `${s} could not be reached or answered something unreadable (${tries}). Try again later.`,
      undefined,
      true,
    );
  }
}

/** A failed upstream call, with what the caller needs to decide on reconciliation. */
export class UpstreamError extends ToolError {
  readonly status: number | undefined;
  /** The request may have been applied upstream even though no answer arrived. */
  readonly outcomeUnknown: boolean;

  constructor(message: string, status: number | undefined, outcomeUnknown: boolean) {
    super(message);
    this.status = status;
    this.outcomeUnknown = outcomeUnknown;
  }
}

/** Upstream settings from `<PREFIX>_TIMEOUT_MS` etc., with the defaults documented in the README. */
export function upstreamConfigFromEnv(prefix: string, env: NodeJS.ProcessEnv): UpstreamConfig {
  const num = (name: string, fallback: number, min: number) => {
    const raw = env[`${prefix}_${name}`];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${prefix}_${name} must be a whole number of at least ${min} (got "${raw}")`);
    return n;
  };
  return {
    timeoutMs: num("TIMEOUT_MS", 5_000, 1),
    maxAttempts: num("MAX_ATTEMPTS", 4, 1),
    retryBudgetMs: num("RETRY_BUDGET_MS", 8_000, 0),
    breakerThreshold: num("BREAKER_THRESHOLD", 5, 1),
    breakerHalfOpenAfterMs: num("BREAKER_HALF_OPEN_MS", 10_000, 100),
    baseUrl: env[`${prefix}_BASE_URL`] || undefined,
  };
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
