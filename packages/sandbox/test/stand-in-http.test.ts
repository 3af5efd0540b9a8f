import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "../src/index.ts";

/** The HTTP plumbing both stand-ins share (src/stand-in/server.ts), seen through each with its own headers. */

let hubspot: RunningHubSpot;
let jira: RunningJira;
beforeAll(async () => {
  hubspot = await startHubSpotSandbox({ port: 0 });
  jira = await startJiraSandbox({ port: 0 });
});
afterAll(async () => {
  await hubspot.close();
  await jira.close();
});

const standIns = () => [
  { name: "HubSpot", s: hubspot, probe: "/crm/v3/objects/companies" },
  { name: "Jira", s: jira, probe: "/rest/api/3/myself" },
];

describe("stand-in control routes", () => {
  it("answer 404 and 405 the same way on both, and count no control request", async () => {
    for (const { s } of standIns()) {
      const before = s.requestCount();
      const missing = await fetch(`${s.url}/__sandbox/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: "not_found" });
      const wrong = await fetch(`${s.url}/__sandbox/faults`, { method: "PUT" });
      expect(wrong.status).toBe(405);
      expect(await wrong.json()).toEqual({ error: "method_not_allowed" });
      expect((await fetch(`${s.url}/__sandbox/requests`, { method: "POST" })).status).toBe(404);
      expect((await fetch(`${s.url}/__sandbox/rate-limits`, { method: "DELETE" })).status).toBe(204);
      expect(s.requestCount()).toBe(before);
    }
  });

  it("count requests by path prefix over HTTP", async () => {
    for (const { s, probe } of standIns()) {
      const before = s.requestCount(probe);
      await fetch(`${s.url}${probe}`); // unauthenticated: refused, but counted
      await fetch(`${s.url}${probe}`);
      const counted = await fetch(`${s.url}/__sandbox/requests?prefix=${encodeURIComponent(probe)}`);
      expect(await counted.json()).toEqual({ count: before + 2 });
      expect(s.requestCount(probe)).toBe(before + 2);
    }
  });

  it("keep each stand-in's own headers on shared answers", async () => {
    const hs = await fetch(`${hubspot.url}/__sandbox/faults`, { method: "DELETE" });
    expect(hs.status).toBe(204);
    expect(hs.headers.get("content-type")).toBe("application/json;charset=utf-8");
    expect(hs.headers.get("x-hubspot-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);

    const jr = await fetch(`${jira.url}/__sandbox/faults`, { method: "DELETE" });
    expect(jr.status).toBe(204);
    expect(jr.headers.get("content-type")).toBeNull();
    expect(jr.headers.get("x-arequestid")).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("stand-in request bodies", () => {
  it("refuse a body over 1 MB with each stand-in's 413, counting the request", async () => {
    const big = "x".repeat(1_000_001);
    const hsBefore = hubspot.requestCount();
    const hs = await fetch(`${hubspot.url}/crm/v3/objects/companies/search`, { method: "POST", body: big });
    expect(hs.status).toBe(413);
    expect(await hs.json()).toMatchObject({ status: "error", category: "VALIDATION_ERROR" });
    expect(hubspot.requestCount()).toBe(hsBefore + 1);

    const jr = await fetch(`${jira.url}/rest/api/3/issue`, { method: "POST", body: big });
    expect(jr.status).toBe(413);
    expect(await jr.json()).toEqual({ errorMessages: ["Request entity too large."], errors: {} });
  });

  it("accept a body of exactly 1 MB", async () => {
    const res = await fetch(`${jira.url}/rest/api/3/issue`, { method: "POST", body: "x".repeat(1_000_000) });
    expect(res.status).toBe(401); // read in full, then refused for want of credentials
  });
});

describe("stand-in faults over the shared plumbing", () => {
  it("send each stand-in's truncated body with its own content type", async () => {
    hubspot.faults.set({ kind: "malformed", times: 1 });
    const hs = await fetch(`${hubspot.url}/crm/v3/objects/companies`);
    expect(hs.status).toBe(200);
    expect(hs.headers.get("content-type")).toBe("application/json;charset=utf-8");
    expect(await hs.text()).toMatch(/^\{"total":35,/);

    jira.faults.set({ kind: "malformed", times: 1 });
    const jr = await fetch(`${jira.url}/rest/api/3/myself`);
    expect(jr.headers.get("content-type")).toBe("application/json;charset=UTF-8");
    expect(await jr.text()).toMatch(/^\{"issues":\[/);
  });

  it("add a Retry-After to a 5xx status fault only when the fault names one", async () => {
    hubspot.faults.set([
      { kind: "status", status: 502, retryAfterSeconds: 4, times: 1 },
      { kind: "status", status: 503, times: 1 },
    ]);
    const first = await fetch(`${hubspot.url}/crm/v3/objects/companies`);
    expect([first.status, first.headers.get("retry-after")]).toEqual([502, "4"]);
    const second = await fetch(`${hubspot.url}/crm/v3/objects/companies`);
    expect([second.status, second.headers.get("retry-after")]).toEqual([503, null]);

    jira.faults.set([
      { kind: "status", status: 500, retryAfterSeconds: 2, times: 1 },
      { kind: "status", status: 503, times: 1 },
    ]);
    const j1 = await fetch(`${jira.url}/rest/api/3/myself`);
    expect([j1.status, j1.headers.get("retry-after")]).toEqual([500, "2"]);
    expect(await j1.json()).toEqual({ errorMessages: ["Internal server error"], errors: {} });
    const j2 = await fetch(`${jira.url}/rest/api/3/myself`);
    expect([j2.status, j2.headers.get("retry-after")]).toEqual([503, null]);
    expect(await j2.json()).toEqual({ errorMessages: ["Service Unavailable"], errors: {} });
  });

  it("release a held request on clear, and do not hold up close for one held by latency", async () => {
    jira.faults.set({ kind: "timeout", path: "/rest/api/3/myself", times: 1 });
    const held = fetch(`${jira.url}/rest/api/3/myself`);
    await new Promise((r) => setTimeout(r, 50));
    jira.faults.clear();
    expect((await held).status).toBe(401); // handled normally once released

    const s = await startHubSpotSandbox({ port: 0 });
    s.faults.set({ kind: "latency", ms: 60_000 });
    const slow = fetch(`${s.url}/crm/v3/objects/companies`).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await slow).toBeInstanceOf(Error);
  });
});
