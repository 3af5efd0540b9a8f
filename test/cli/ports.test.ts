import { describe, expect, it } from "vitest";
import { portOffset, sandboxPort } from "../../packages/cli/src/ports.ts";

describe("GATEHOUSE_PORT_OFFSET", () => {
  it("shifts every sandbox port by whole hundreds", () => {
    expect(portOffset({})).toBe(0);
    expect(sandboxPort("issuer", { GATEHOUSE_PORT_OFFSET: "300" })).toBe(7400);
    expect(sandboxPort("jira", { GATEHOUSE_PORT_OFFSET: "1000" })).toBe(8120);
  });

  it("refuses a shift that would land on the default sandbox's own ports, or is not a number", () => {
    for (const bad of ["1", "10", "50", "150", "-100", "1100", "abc", "1e2.5"]) {
      expect(() => portOffset({ GATEHOUSE_PORT_OFFSET: bad }), bad).toThrow(/must be 0, 100, 200/);
    }
  });
});
