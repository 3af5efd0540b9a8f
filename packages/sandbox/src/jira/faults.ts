/**
 * Fault injection for the Jira stand-in. Faults are set in-process (`sandbox.faults.set(...)`) or over HTTP
 * (`POST /__sandbox/faults` with the same JSON, `DELETE /__sandbox/faults`).
 *
 * The two `commit-then-*` kinds exist for exactly-once tests: the request IS applied (an issue created, a
 * comment added) and only the answer is lost, the way a gateway timeout or a reset connection loses it.
 */

interface FaultScope {
  /** Only requests whose path starts with this prefix are affected (e.g. "/rest/api/3/issue"). */
  path?: string;
  /** Only requests with this HTTP method (case-insensitive) are affected. */
  method?: string;
  /** How many matching requests get the fault; unlimited when absent. */
  times?: number;
}

export type JiraFault =
  /** Delay every matching request by `ms` before it is handled. */
  | ({ kind: "latency"; ms: number } & FaultScope)
  /** Answer with this status and Jira's body for it (429 carries Retry-After and the X-RateLimit headers). */
  | ({ kind: "status"; status: 429 | 500 | 503; retryAfterSeconds?: number } & FaultScope)
  /** Accept the request and never answer, until the fault is cleared (then it is handled) or the server closes. */
  | ({ kind: "timeout" } & FaultScope)
  /** 200 with a truncated, invalid JSON body; nothing is applied. */
  | ({ kind: "malformed" } & FaultScope)
  /**
   * Apply the request fully, then hold the answer: nothing is sent until the fault is cleared (then the held
   * answer is sent, if the client is still there) or the server closes (the socket is destroyed).
   */
  | ({ kind: "commit-then-timeout" } & FaultScope)
  /** Apply the request fully, then destroy the socket without sending a byte. */
  | ({ kind: "commit-then-drop" } & FaultScope);

export type JiraFaultKind = JiraFault["kind"];

export interface JiraFaults {
  /** Replaces the active faults with this one (or these, applied in order). */
  set(fault: JiraFault | JiraFault[]): void;
  /** Removes every fault and lets requests held by a `timeout` or `commit-then-timeout` fault proceed. */
  clear(): void;
  /** The active faults, with `times` counting down. */
  active(): JiraFault[];
}

const STATUSES = [429, 500, 503];
const KINDS: JiraFaultKind[] = [
  "latency",
  "status",
  "timeout",
  "malformed",
  "commit-then-timeout",
  "commit-then-drop",
];

/** Validates fault JSON from the control route; throws an Error whose message says what is wrong. */
export function parseFaults(input: unknown): JiraFault[] {
  const list = Array.isArray(input) ? input : [input];
  return list.map((f, i) => {
    const where = Array.isArray(input) ? `fault[${i}]` : "fault";
    if (typeof f !== "object" || f === null) throw new Error(`${where} must be an object`);
    const o = f as Record<string, unknown>;
    if (o.path !== undefined && typeof o.path !== "string") throw new Error(`${where}.path must be a string`);
    if (o.method !== undefined && (typeof o.method !== "string" || !/^[A-Za-z]+$/.test(o.method)))
      throw new Error(`${where}.method must be an HTTP method such as "POST"`);
    if (o.times !== undefined && !(Number.isInteger(o.times) && (o.times as number) >= 0))
      throw new Error(`${where}.times must be a non-negative integer`);
    const scope: FaultScope = {};
    if (o.path !== undefined) scope.path = o.path as string;
    if (o.method !== undefined) scope.method = (o.method as string).toUpperCase();
    if (o.times !== undefined) scope.times = o.times as number;
    switch (o.kind) {
      case "latency":
        if (typeof o.ms !== "number" || !Number.isFinite(o.ms) || o.ms < 0)
          throw new Error(`${where}.ms must be a non-negative number`);
        return { kind: "latency", ms: o.ms, ...scope };
      case "status": {
        if (!STATUSES.includes(o.status as number))
          throw new Error(`${where}.status must be one of ${STATUSES.join(", ")}`);
        const fault: JiraFault = { kind: "status", status: o.status as 429 | 500 | 503, ...scope };
        if (o.retryAfterSeconds !== undefined) {
          if (typeof o.retryAfterSeconds !== "number" || o.retryAfterSeconds < 0)
            throw new Error(`${where}.retryAfterSeconds must be a non-negative number`);
          fault.retryAfterSeconds = o.retryAfterSeconds;
        }
        return fault;
      }
      case "timeout":
      case "malformed":
      case "commit-then-timeout":
      case "commit-then-drop":
        return { kind: o.kind, ...scope };
      default:
        throw new Error(`${where}.kind must be one of ${KINDS.join(", ")}`);
    }
  });
}

/** The decision for one request: how long to wait, then whether a terminal fault changes the answer. */
export interface FaultPlan {
  delayMs: number;
  terminal?: Exclude<JiraFault, { kind: "latency" }>;
}

export class FaultRegistry implements JiraFaults {
  #faults: JiraFault[] = [];
  #onClear: () => void;

  constructor(onClear: () => void) {
    this.#onClear = onClear;
  }

  set(fault: JiraFault | JiraFault[]): void {
    this.#faults = parseFaults(fault);
  }

  clear(): void {
    this.#faults = [];
    this.#onClear();
  }

  active(): JiraFault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** Consumes one use of each fault that applies to this request. */
  plan(method: string, path: string): FaultPlan {
    const plan: FaultPlan = { delayMs: 0 };
    const m = method.toUpperCase();
    for (const f of this.#faults) {
      if (f.path !== undefined && !path.startsWith(f.path)) continue;
      if (f.method !== undefined && f.method !== m) continue;
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
