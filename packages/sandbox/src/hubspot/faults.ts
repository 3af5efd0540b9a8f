/**
 * Fault injection for the HubSpot stand-in. Faults are set in-process (`sandbox.faults.set(...)`) or over
 * HTTP (`POST /__sandbox/faults` with the same JSON, `DELETE /__sandbox/faults`).
 */

interface FaultScope {
  /** Only requests whose path starts with this prefix are affected (e.g. "/crm/v3/objects/companies"). */
  path?: string;
  /** How many matching requests get the fault; unlimited when absent. */
  times?: number;
}

export type HubSpotFault =
  /** Delay every matching request by `ms` before it is handled. */
  | ({ kind: "latency"; ms: number } & FaultScope)
  /** Answer with this status and HubSpot's body for it (429 uses the TEN_SECONDLY_ROLLING body). */
  | ({ kind: "status"; status: 429 | 500 | 502 | 503; retryAfterSeconds?: number } & FaultScope)
  /** Accept the request and never answer, until the fault is cleared (then it is handled) or the server closes. */
  | ({ kind: "timeout" } & FaultScope)
  /** 200 with a truncated, invalid JSON body. */
  | ({ kind: "malformed" } & FaultScope);

export interface HubSpotFaults {
  /** Replaces the active faults with this one (or these, applied in order). */
  set(fault: HubSpotFault | HubSpotFault[]): void;
  /** Removes every fault and lets requests held by a `timeout` fault proceed. */
  clear(): void;
  /** The active faults, with `times` counting down. */
  active(): HubSpotFault[];
}

const STATUSES = [429, 500, 502, 503];

/** Validates fault JSON from the control route; throws an Error whose message says what is wrong. */
export function parseFaults(input: unknown): HubSpotFault[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((f, i) => {
    const where = Array.isArray(input) ? `fault[${i}]` : "fault";
    if (typeof f !== "object" || f === null) throw new Error(`${where} must be an object`);
    const o = f as Record<string, unknown>;
    if (o.path !== undefined && typeof o.path !== "string") throw new Error(`${where}.path must be a string`);
    if (o.times !== undefined && !(Number.isInteger(o.times) && (o.times as number) >= 0))
      throw new Error(`${where}.times must be a non-negative integer`);
    const scope: FaultScope = {};
    if (o.path !== undefined) scope.path = o.path as string;
    if (o.times !== undefined) scope.times = o.times as number;
    switch (o.kind) {
      case "latency":
        if (typeof o.ms !== "number" || o.ms < 0)
          throw new Error(`${where}.ms must be a non-negative number`);
        return { kind: "latency", ms: o.ms, ...scope };
      case "status": {
        if (!STATUSES.includes(o.status as number))
          throw new Error(`${where}.status must be one of ${STATUSES.join(", ")}`);
        const fault: HubSpotFault = { kind: "status", status: o.status as 429 | 500 | 502 | 503, ...scope };
        if (o.retryAfterSeconds !== undefined) {
          if (typeof o.retryAfterSeconds !== "number" || o.retryAfterSeconds < 0)
            throw new Error(`${where}.retryAfterSeconds must be a non-negative number`);
          fault.retryAfterSeconds = o.retryAfterSeconds;
        }
        return fault;
      }
      case "timeout":
      case "malformed":
        return { kind: o.kind, ...scope };
      default:
        throw new Error(`${where}.kind must be one of latency, status, timeout, malformed`);
    }
  });
}

/** The decision for one request: how long to wait, then whether a terminal fault replaces the answer. */
export interface FaultPlan {
  delayMs: number;
  terminal?: Exclude<HubSpotFault, { kind: "latency" }>;
}

export class FaultRegistry implements HubSpotFaults {
  #faults: HubSpotFault[] = [];
  #onClear: () => void;

  constructor(onClear: () => void) {
    this.#onClear = onClear;
  }

  set(fault: HubSpotFault | HubSpotFault[]): void {
    this.#faults = parseFaults(fault);
  }

  clear(): void {
    this.#faults = [];
    this.#onClear();
  }

  active(): HubSpotFault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** Consumes one use of each fault that applies to `path`. */
  plan(path: string): FaultPlan {
    const plan: FaultPlan = { delayMs: 0 };
    for (const f of this.#faults) {
      if (f.path !== undefined && !path.startsWith(f.path)) continue;
      if (f.times !== undefined && f.times <= 0) continue;
      if (f.kind === "latency") {
        plan.delayMs += f.ms;
      } else if (plan.terminal) {
        continue; // one terminal fault per request; later ones keep their remaining uses
      } else {
        plan.terminal = f;
      }
      if (f.times !== undefined) f.times--;
    }
    this.#faults = this.#faults.filter((f) => f.times === undefined || f.times > 0);
    return plan;
  }
}
