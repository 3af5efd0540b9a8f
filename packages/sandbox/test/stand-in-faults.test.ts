import { describe, expect, expectTypeOf, it } from "vitest";
import { HUBSPOT_FAULTS, type HubSpotFault } from "../src/hubspot/faults.ts";
import { JIRA_FAULTS, type JiraFault } from "../src/jira/faults.ts";
import { FaultRegistry, parseFaults } from "../src/stand-in/faults.ts";

/** The fault parser and registry both stand-ins share, with each stand-in's spec. */

const parseError = (input: unknown, spec: typeof HUBSPOT_FAULTS | typeof JIRA_FAULTS) => {
  try {
    parseFaults(input, spec as typeof JIRA_FAULTS);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the faults to be refused");
};

describe("parseFaults", () => {
  it("keeps only the known fields, scope included, and upper-cases a Jira method", () => {
    expect(
      parseFaults(
        [
          { kind: "latency", ms: 5, path: "/a", times: 2, extra: true },
          { kind: "status", status: 503, retryAfterSeconds: 3, method: "post" },
          { kind: "commit-then-drop", method: "Put" },
        ],
        JIRA_FAULTS,
      ),
    ).toEqual([
      { kind: "latency", ms: 5, path: "/a", times: 2 },
      { kind: "status", status: 503, retryAfterSeconds: 3, method: "POST" },
      { kind: "commit-then-drop", method: "PUT" },
    ]);
  });

  it("ignores a method for HubSpot (which scopes by path only), even an invalid one", () => {
    expect(parseFaults({ kind: "timeout", method: "POST", path: "/crm" }, HUBSPOT_FAULTS)).toEqual([
      { kind: "timeout", path: "/crm" },
    ]);
    expect(parseFaults({ kind: "malformed", method: 42 }, HUBSPOT_FAULTS)).toEqual([{ kind: "malformed" }]);
    expect(parseError({ kind: "malformed", method: 42 }, JIRA_FAULTS)).toBe(
      'fault.method must be an HTTP method such as "POST"',
    );
  });

  it("lists each stand-in's own kinds and statuses when refusing", () => {
    expect(parseError({ kind: "commit-then-drop" }, HUBSPOT_FAULTS)).toBe(
      "fault.kind must be one of latency, status, timeout, malformed",
    );
    expect(parseError([{ kind: "nope" }], JIRA_FAULTS)).toBe(
      "fault[0].kind must be one of latency, status, timeout, malformed, commit-then-timeout, commit-then-drop",
    );
    expect(parseError({ kind: "status", status: 502 }, JIRA_FAULTS)).toBe(
      "fault.status must be one of 429, 500, 503",
    );
    expect(parseFaults({ kind: "status", status: 502 }, HUBSPOT_FAULTS)).toEqual([
      { kind: "status", status: 502 },
    ]);
    expect(parseError({ kind: "status", status: 418 }, HUBSPOT_FAULTS)).toBe(
      "fault.status must be one of 429, 500, 502, 503",
    );
  });

  it("validates scope and values the same way for both", () => {
    for (const spec of [HUBSPOT_FAULTS, JIRA_FAULTS]) {
      expect(parseError(null, spec)).toBe("fault must be an object");
      expect(parseError({ kind: "timeout", path: 1 }, spec)).toBe("fault.path must be a string");
      expect(parseError({ kind: "timeout", times: -1 }, spec)).toBe(
        "fault.times must be a non-negative integer",
      );
      expect(parseError({ kind: "latency", ms: -1 }, spec)).toBe("fault.ms must be a non-negative number");
      expect(parseError({ kind: "status", status: 500, retryAfterSeconds: "1" }, spec)).toBe(
        "fault.retryAfterSeconds must be a non-negative number",
      );
    }
    // Only Jira insists on a finite latency (as before the two parsers were folded into one).
    expect(parseError({ kind: "latency", ms: Number.POSITIVE_INFINITY }, JIRA_FAULTS)).toBe(
      "fault.ms must be a non-negative number",
    );
    expect(parseFaults({ kind: "latency", ms: Number.POSITIVE_INFINITY }, HUBSPOT_FAULTS)).toHaveLength(1);
  });
});

describe("FaultRegistry", () => {
  it("adds up latencies, applies one terminal fault per request and counts `times` down", () => {
    const faults = new FaultRegistry<JiraFault>(JIRA_FAULTS, () => {});
    faults.set([
      { kind: "latency", ms: 10 },
      { kind: "latency", ms: 5, path: "/rest", times: 1 },
      { kind: "status", status: 503, times: 1 },
      { kind: "timeout", times: 2 },
    ]);
    const first = faults.plan("GET", "/rest/api/3/myself");
    expect(first).toEqual({ delayMs: 15, terminal: { kind: "status", status: 503, times: 0 } });
    // The timeout kept both its uses; the used-up faults are gone.
    expect(faults.active()).toEqual([
      { kind: "latency", ms: 10 },
      { kind: "timeout", times: 2 },
    ]);
    expect(faults.plan("GET", "/x")).toMatchObject({ delayMs: 10, terminal: { kind: "timeout" } });
    expect(faults.plan("GET", "/x")).toMatchObject({ delayMs: 10, terminal: { kind: "timeout" } });
    expect(faults.plan("GET", "/x")).toEqual({ delayMs: 10 });
  });

  it("scopes by path prefix, and by method where the stand-in supports it", () => {
    const jira = new FaultRegistry<JiraFault>(JIRA_FAULTS, () => {});
    jira.set({ kind: "commit-then-timeout", path: "/rest/api/3/issue", method: "post" });
    expect(jira.plan("GET", "/rest/api/3/issue/SUP-1")).toEqual({ delayMs: 0 });
    expect(jira.plan("POST", "/rest/api/3/project")).toEqual({ delayMs: 0 });
    expect(jira.plan("post", "/rest/api/3/issue").terminal).toMatchObject({ kind: "commit-then-timeout" });

    const hubspot = new FaultRegistry<HubSpotFault>(HUBSPOT_FAULTS, () => {});
    hubspot.set({ kind: "malformed", path: "/crm/v3/objects/deals", method: "POST" } as HubSpotFault);
    expect(hubspot.plan("GET", "/crm/v3/objects/deals/1").terminal).toEqual({
      kind: "malformed",
      path: "/crm/v3/objects/deals",
    });
    expect(hubspot.plan("GET", "/crm/v3/objects/companies")).toEqual({ delayMs: 0 });
  });

  it("hands out copies, and calls back on clear", () => {
    let cleared = 0;
    const faults = new FaultRegistry<HubSpotFault>(HUBSPOT_FAULTS, () => cleared++);
    faults.set({ kind: "timeout", times: 3 });
    const copy = faults.active()[0]!;
    copy.times = 0;
    expect(faults.active()).toEqual([{ kind: "timeout", times: 3 }]);
    faults.clear();
    expect(faults.active()).toEqual([]);
    expect(cleared).toBe(1);
  });
});

/** An intersection as one object type, so that it compares equal to the same fields written out. */
type Flat<T> = { [K in keyof T]: T[K] };

describe("the exported fault types", () => {
  it("narrow the shared Fault to each stand-in's kinds, statuses and scope", () => {
    expectTypeOf<HubSpotFault["kind"]>().toEqualTypeOf<"latency" | "status" | "timeout" | "malformed">();
    expectTypeOf<Extract<HubSpotFault, { kind: "status" }>["status"]>().toEqualTypeOf<
      429 | 500 | 502 | 503
    >();
    expectTypeOf<Flat<Extract<HubSpotFault, { kind: "timeout" }>>>().toEqualTypeOf<{
      kind: "timeout";
      path?: string;
      times?: number;
    }>();
    expectTypeOf<JiraFault["kind"]>().toEqualTypeOf<
      "latency" | "status" | "timeout" | "malformed" | "commit-then-timeout" | "commit-then-drop"
    >();
    expectTypeOf<Extract<JiraFault, { kind: "status" }>["status"]>().toEqualTypeOf<429 | 500 | 503>();
    expectTypeOf<Flat<Extract<JiraFault, { kind: "commit-then-drop" }>>>().toEqualTypeOf<{
      kind: "commit-then-drop";
      path?: string;
      method?: string;
      times?: number;
    }>();
  });
});
