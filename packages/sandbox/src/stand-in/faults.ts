/**
 * Fault injection shared by the stand-ins. Faults are set in-process (`sandbox.faults.set(...)`) or over HTTP
 * (`POST /__sandbox/faults` with the same JSON, `DELETE /__sandbox/faults`). Each stand-in supports a subset of
 * the kinds and statuses below, given by its `FaultSpec`, and exports `Fault` narrowed to that subset.
 *
 * The two `commit-then-*` kinds exist for exactly-once tests: the request IS applied (an issue created, a
 * comment added) and only the answer is lost, the way a gateway timeout or a reset connection loses it.
 */

export interface FaultScope {
  /** Only requests whose path starts with this prefix are affected (e.g. "/rest/api/3/issue"). */
  path?: string;
  /** How many matching requests get the fault; unlimited when absent. */
  times?: number;
}

/** The scope of a stand-in that also tells requests apart by method. */
export interface MethodFaultScope extends FaultScope {
  /** Only requests with this HTTP method (case-insensitive) are affected. */
  method?: string;
}

export type Fault<Status extends number = number, Scope extends FaultScope = MethodFaultScope> =
  /** Delay every matching request by `ms` before it is handled. */
  | ({ kind: "latency"; ms: number } & Scope)
  /** Answer with this status and the stand-in's body for it (429 with its rate-limit headers). */
  | ({ kind: "status"; status: Status; retryAfterSeconds?: number } & Scope)
  /** Accept the request and never answer, until the fault is cleared (then it is handled) or the server closes. */
  | ({ kind: "timeout" } & Scope)
  /** 200 with a truncated, invalid JSON body; nothing is applied. */
  | ({ kind: "malformed" } & Scope)
  /**
   * Apply the request fully, then hold the answer: nothing is sent until the fault is cleared (then the held
   * answer is sent, if the client is still there) or the server closes (the socket is destroyed).
   */
  | ({ kind: "commit-then-timeout" } & Scope)
  /** Apply the request fully, then destroy the socket without sending a byte. */
  | ({ kind: "commit-then-drop" } & Scope);

export type FaultKind = Fault["kind"];

/** A `status` fault of the stand-in whose faults are `F`. */
export type StatusFault<F extends Fault> = Extract<F, { kind: "status" }>;

export interface Faults<F extends Fault> {
  /** Replaces the active faults with this one (or these, applied in order). */
  set(fault: F | F[]): void;
  /** Removes every fault and lets requests held by a `timeout` or `commit-then-timeout` fault proceed. */
  clear(): void;
  /** The active faults, with `times` counting down. */
  active(): F[];
}

/** What one stand-in supports. */
export interface FaultSpec<F extends Fault> {
  /** The kinds it accepts, in the order its error message lists them. */
  kinds: readonly F["kind"][];
  /** The statuses a `status` fault may have. */
  statuses: readonly StatusFault<F>["status"][];
  /** Whether faults may be scoped by `method`; without it, a `method` in the input is ignored. */
  byMethod: boolean;
  /** Whether a latency must be finite (a negative one is always refused). */
  finiteLatency: boolean;
}

/** Validates fault JSON from the control route; throws an Error whose message says what is wrong. */
export function parseFaults<F extends Fault>(input: unknown, spec: FaultSpec<F>): F[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((f, i) => {
    const where = Array.isArray(input) ? `fault[${i}]` : "fault";
    if (typeof f !== "object" || f === null) throw new Error(`${where} must be an object`);
    const o = f as Record<string, unknown>;
    if (o.path !== undefined && typeof o.path !== "string") throw new Error(`${where}.path must be a string`);
    const method = spec.byMethod ? o.method : undefined;
    if (method !== undefined && (typeof method !== "string" || !/^[A-Za-z]+$/.test(method)))
      throw new Error(`${where}.method must be an HTTP method such as "POST"`);
    if (o.times !== undefined && !(Number.isInteger(o.times) && (o.times as number) >= 0))
      throw new Error(`${where}.times must be a non-negative integer`);
    const scope: MethodFaultScope = {};
    if (o.path !== undefined) scope.path = o.path as string;
    if (method !== undefined) scope.method = method.toUpperCase();
    if (o.times !== undefined) scope.times = o.times as number;
    const kind = spec.kinds.includes(o.kind as F["kind"]) ? (o.kind as FaultKind) : undefined;
    switch (kind) {
      case "latency":
        if (typeof o.ms !== "number" || (spec.finiteLatency && !Number.isFinite(o.ms)) || o.ms < 0)
          throw new Error(`${where}.ms must be a non-negative number`);
        return { kind, ms: o.ms, ...scope } as F;
      case "status": {
        if (!(spec.statuses as readonly unknown[]).includes(o.status))
          throw new Error(`${where}.status must be one of ${spec.statuses.join(", ")}`);
        const fault: Fault = { kind, status: o.status as number, ...scope };
        if (o.retryAfterSeconds !== undefined) {
          if (typeof o.retryAfterSeconds !== "number" || o.retryAfterSeconds < 0)
            throw new Error(`${where}.retryAfterSeconds must be a non-negative number`);
          fault.retryAfterSeconds = o.retryAfterSeconds;
        }
        return fault as F;
      }
      case "timeout":
      case "malformed":
      case "commit-then-timeout":
      case "commit-then-drop":
        return { kind, ...scope } as F;
      default:
        throw new Error(`${where}.kind must be one of ${spec.kinds.join(", ")}`);
    }
  });
}

/** The decision for one request: how long to wait, then whether a terminal fault changes the answer. */
export interface FaultPlan<F extends Fault> {
  delayMs: number;
  terminal?: Exclude<F, { kind: "latency" }>;
}

export class FaultRegistry<F extends Fault> implements Faults<F> {
  #faults: F[] = [];
  #spec: FaultSpec<F>;
  #onClear: () => void;

  constructor(spec: FaultSpec<F>, onClear: () => void) {
    this.#spec = spec;
    this.#onClear = onClear;
  }

  set(fault: F | F[]): void {
    this.#faults = parseFaults(fault, this.#spec);
  }

  clear(): void {
    this.#faults = [];
    this.#onClear();
  }

  active(): F[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** Consumes one use of each fault that applies to this request. */
  plan(method: string, path: string): FaultPlan<F> {
    const plan: FaultPlan<F> = { delayMs: 0 };
    const m = method.toUpperCase();
    for (const f of this.#faults as Fault[]) {
      if (f.path !== undefined && !path.startsWith(f.path)) continue;
      if (f.method !== undefined && f.method !== m) continue;
      if (f.times !== undefined && f.times <= 0) continue;
      if (f.kind === "latency") {
        plan.delayMs += f.ms;
      } else if (plan.terminal) {
        continue; // one terminal fault per request; later ones keep their remaining uses
      } else {
        plan.terminal = f as Exclude<F, { kind: "latency" }>;
      }
      if (f.times !== undefined) f.times--;
    }
    this.#faults = this.#faults.filter((f) => f.times === undefined || f.times > 0);
    return plan;
  }
}
