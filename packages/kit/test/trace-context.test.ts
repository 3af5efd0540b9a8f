import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newTraceContext } from "../src/index.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("correlation ids a client sends", () => {
  it("continues a request under the UUID it was given, in Gatehouse's lower-case form", () => {
    const id = randomUUID();
    expect(newTraceContext({ correlationId: id }).correlationId).toBe(id);
    expect(newTraceContext({ correlationId: id.toUpperCase() }).correlationId).toBe(id);
  });

  it.each([
    ["a draft id", "dr_AbCdEf123456"],
    ["an approval-like id", "ap_0123456789ab"],
    ["a free-form case number", "case-4711"],
    ["a UUID with extra text", `${randomUUID()}x`],
    ["a UUID without dashes", randomUUID().replace(/-/g, "")],
    ["an empty string", ""],
    ["a number", 42],
  ])("replaces %s with a fresh UUID", (_what, given) => {
    const trace = newTraceContext({ correlationId: given });
    expect(trace.correlationId).toMatch(UUID);
    expect(trace.correlationId).not.toBe(given);
  });

  it("keeps the incoming trace and makes its span the parent", () => {
    const trace = newTraceContext({
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      correlationId: "dr_AbCdEf123456",
    });
    expect(trace).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
    });
    expect(trace.correlationId).toMatch(UUID);
  });
});
