/**
 * The faults the Jira stand-in supports (see ../stand-in/faults.ts): every kind, including the
 * `commit-then-*` ones for exactly-once tests, status 429/500/503 (429 carries Retry-After and the
 * X-RateLimit headers), scoped by path prefix and method.
 */
import type { Fault, FaultSpec, Faults, MethodFaultScope } from "../stand-in/faults.ts";

export type JiraFault = Fault<429 | 500 | 503, MethodFaultScope>;

export type JiraFaultKind = JiraFault["kind"];

export type JiraFaults = Faults<JiraFault>;

export const JIRA_FAULTS: FaultSpec<JiraFault> = {
  kinds: ["latency", "status", "timeout", "malformed", "commit-then-timeout", "commit-then-drop"],
  statuses: [429, 500, 503],
  byMethod: true,
  finiteLatency: true,
};
