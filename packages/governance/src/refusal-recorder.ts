import { randomBytes, randomUUID } from "node:crypto";
import type { AuditEventInput } from "./audit-event.ts";

/** One refused request, as the transport saw it. */
export interface Refusal {
  /** Where it came from: the remote address. */
  source: string;
  /** What kind of refusal (the auth error code): counted separately per source. */
  kind: string;
  /** Why, in words: aggregated events count refusals per reason. */
  reason: string;
  /** The event written when this refusal is recorded on its own. */
  event: AuditEventInput;
}

export interface RefusalRecorderOptions {
  /** Appends one audit event (the audit log's `append`). */
  append: (event: AuditEventInput) => Promise<unknown>;
  /** The server named on aggregated events. */
  server: string;
  /** Length of one counting interval. */
  intervalMs: number;
  /** Refusals per source and kind written on their own in each interval; later ones are counted. */
  burst?: number;
  /** Sources tracked at once; refusals from further sources in the same interval share one bucket. */
  maxSources?: number;
  /** The clock (tests inject one). */
  now?: () => number;
  /** Called when an aggregated event cannot be written. */
  onError?: (err: unknown) => void;
}

/** The source under which refusals from sources past `maxSources` are counted. */
export const OTHER_SOURCES = "(other sources)";
const OTHER_REASONS = "(other reasons)";
const MAX_REASONS = 10;
const MAX_USERS = 10;

interface Bucket {
  /** Written on their own this interval. */
  written: number;
  /** Counted instead of written, this interval. */
  count: number;
  reasons: Map<string, number>;
  users: Set<string>;
  env: string;
  firstAt: number;
  lastAt: number;
}

/**
 * Records refused requests in the audit trail without letting one client grow it without bound. Per
 * source and kind, the first `burst` refusals of each interval are written at once, each with its own
 * reason; past that they are counted, and one aggregated `auth.rejected` event per source and kind
 * carries the count (and the reasons and users seen) when the interval ends, or when the recorder is
 * closed. Intervals are fixed windows of the clock; memory holds at most `maxSources` sources (each with
 * a handful of kinds, 10 reasons and 10 users), since the tables are dropped at every interval's end.
 *
 * rate-limiter-flexible (used for tool-call limits) decides "first N in a window" but cannot count what it
 * refuses, report at the window's end, bound its key set or take another clock, so the counting is here.
 */
export class RefusalRecorder {
  private readonly burst: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  private window: number;
  private sources = new Map<string, Map<string, Bucket>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly opts: RefusalRecorderOptions;

  constructor(opts: RefusalRecorderOptions) {
    this.opts = opts;
    if (!(opts.intervalMs >= 1)) throw new Error("refusal recorder: intervalMs must be at least 1");
    this.burst = opts.burst ?? 20;
    this.maxSources = opts.maxSources ?? 1000;
    this.now = opts.now ?? Date.now;
    this.window = this.windowAt(this.now());
  }

  /** Writes the refusal's event now (within the burst) or counts it for the interval's aggregated event. */
  async record(refusal: Refusal): Promise<void> {
    if (this.closed) {
      await this.opts.append(refusal.event);
      return;
    }
    await this.sweep();
    const bucket = this.bucketFor(refusal.source, refusal.kind, refusal.event.env ?? "unknown");
    if (bucket.written < this.burst) {
      bucket.written++;
      await this.opts.append(refusal.event);
      return;
    }
    const at = this.now();
    if (bucket.count === 0) bucket.firstAt = at;
    bucket.count++;
    bucket.lastAt = at;
    const reason = refusal.reason.slice(0, 200);
    const reasonKey =
      bucket.reasons.has(reason) || bucket.reasons.size < MAX_REASONS ? reason : OTHER_REASONS;
    bucket.reasons.set(reasonKey, (bucket.reasons.get(reasonKey) ?? 0) + 1);
    const user = refusal.event.identity?.user;
    if (user && bucket.users.size < MAX_USERS) bucket.users.add(user);
    this.schedule();
  }

  /** Writes the aggregated events of an interval that has ended. The recorder's timer calls this too. */
  async sweep(): Promise<void> {
    if (this.windowAt(this.now()) === this.window) return;
    this.window = this.windowAt(this.now());
    await this.flush();
  }

  /** Writes every pending aggregated event, then writes each later refusal on its own. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const sources = this.sources;
    this.sources = new Map();
    for (const [source, kinds] of sources) {
      for (const [kind, bucket] of kinds) {
        if (bucket.count === 0) continue;
        try {
          await this.opts.append(this.aggregate(source, kind, bucket));
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
    }
  }

  private bucketFor(source: string, kind: string, env: string): Bucket {
    let key = source;
    if (!this.sources.has(key) && this.sources.size >= this.maxSources) key = OTHER_SOURCES;
    let kinds = this.sources.get(key);
    if (!kinds) {
      kinds = new Map();
      this.sources.set(key, kinds);
    }
    let bucket = kinds.get(kind);
    if (!bucket) {
      bucket = { written: 0, count: 0, reasons: new Map(), users: new Set(), env, firstAt: 0, lastAt: 0 };
      kinds.set(kind, bucket);
    }
    return bucket;
  }

  private aggregate(source: string, kind: string, b: Bucket): AuditEventInput {
    return {
      type: "auth.rejected",
      server: this.opts.server,
      env: b.env,
      outcome: kind,
      detail: {
        aggregated: true,
        source,
        count: b.count,
        reasons: Object.fromEntries(b.reasons),
        ...(b.users.size ? { users: [...b.users].sort() } : {}),
        firstAt: new Date(b.firstAt).toISOString(),
        lastAt: new Date(b.lastAt).toISOString(),
        intervalMs: this.opts.intervalMs,
        recordedSeparately: b.written,
      },
      correlationId: randomUUID(),
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
    };
  }

  /** One timer for the end of the current interval, set once something waits to be reported. */
  private schedule(): void {
    if (this.timer) return;
    const delay = Math.max(1, (this.window + 1) * this.opts.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep().then(
        () => {
          // A clock that has not reached the interval's end yet (a timer firing early): try again.
          if (!this.closed && this.pending()) this.schedule();
        },
        (err) => this.opts.onError?.(err),
      );
    }, delay);
    this.timer.unref();
  }

  private pending(): boolean {
    for (const kinds of this.sources.values()) for (const b of kinds.values()) if (b.count > 0) return true;
    return false;
  }

  private windowAt(t: number): number {
    return Math.floor(t / this.opts.intervalMs);
  }
}
