/**
 * The faults the HubSpot stand-in supports (see ../stand-in/faults.ts): latency, status 429/500/502/503 (429
 * uses the TEN_SECONDLY_ROLLING body), timeout and malformed, scoped by path prefix only.
 */
import type { Fault, FaultScope, FaultSpec, Faults } from "../stand-in/faults.ts";

export type HubSpotFault = Exclude<
  Fault<429 | 500 | 502 | 503, FaultScope>,
  { kind: "commit-then-timeout" | "commit-then-drop" }
>;

export type HubSpotFaults = Faults<HubSpotFault>;

export const HUBSPOT_FAULTS: FaultSpec<HubSpotFault> = {
  kinds: ["latency", "status", "timeout", "malformed"],
  statuses: [429, 500, 502, 503],
  byMethod: false,
  finiteLatency: false,
};
