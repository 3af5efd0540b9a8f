import { type RunningHubSpot, startHubSpotSandbox } from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { CRM_READ_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

type Company = { company_id: string; tenant: string; name: string; domain: string };

describe("crm-read through the real @hubspot/api-client against the HubSpot stand-in", () => {
  let env: TestEnvironment;
  let hubspot: RunningHubSpot;
  let server: SpawnedServer;
  let alice: Client;
  let bob: Client;
  let dave: Client;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    hubspot = await startHubSpotSandbox({
      port: 0,
      limits: { tenSecondly: 10_000, searchPerSecond: 10_000 },
    });
    server = await spawnHttpServer(CRM_READ_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      HUBSPOT_BASE_URL: hubspot.url,
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
      HUBSPOT_TIMEOUT_MS: "1000",
      HUBSPOT_RETRY_BUDGET_MS: "3000",
      HUBSPOT_BREAKER_THRESHOLD: "6",
      HUBSPOT_BREAKER_HALF_OPEN_MS: "4000",
    });
    const mint = async (user: string) =>
      connectHttp(server.url, await env.mint(user, { audience: server.url }));
    [alice, bob, dave] = await Promise.all([mint("alice"), mint("bob"), mint("dave")]);
  });

  // Leave HubSpot healthy and the circuit closed for the next test.
  afterEach(async () => {
    hubspot?.faults.clear();
    for (let i = 0; i < 60; i++) {
      const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
      if (!r.isError) return;
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close(), dave?.close()]);
    await server?.stop();
    await hubspot?.close();
    await env?.close();
  });

  const findCompany = async (client: Client, query: string) => {
    const r = await client.callTool({ name: "search_companies", arguments: { query } });
    expect(r.isError, textOf(r)).toBe(false);
    return (r.structuredContent as { companies: Company[] }).companies;
  };

  it("lets alice find an emea company and see its contacts without emails or phones", async () => {
    const [company] = await findCompany(alice, "Nordlicht");
    expect(company).toMatchObject({ tenant: "emea", domain: "nordlicht-logistik.de" });
    const r = await alice.callTool({ name: "get_company", arguments: { company_id: company!.company_id } });
    expect(r.isError, textOf(r)).toBe(false);
    const out = r.structuredContent as {
      contacts: { total: number; items: Array<{ email: string; phone: string; name: string }> };
      deals: { stages: unknown[] };
    };
    expect(out.contacts.total).toBeGreaterThanOrEqual(2);
    expect(
      out.contacts.items.every(
        (c) => c.email === "[redacted:pii]" && c.phone === "[redacted:pii]" && c.name.length > 0,
      ),
    ).toBe(true);
    expect(out.deals.stages.length).toBeGreaterThan(0);
    const event = await outcomeEvent(env.audit, r);
    expect(event.detail.upstream).toMatchObject({ system: "hubspot", status: 200, attempts: 1 });
  });

  it("shows contact details to dave, who holds crm:pii", async () => {
    const [company] = await findCompany(dave, "Nordlicht");
    const r = await dave.callTool({ name: "get_company", arguments: { company_id: company!.company_id } });
    const items = (r.structuredContent as { contacts: { items: Array<{ email: string; phone: string }> } })
      .contacts.items;
    expect(items.every((c) => /@nordlicht-logistik\.de$/.test(c.email) && c.phone.startsWith("+"))).toBe(
      true,
    );
  });

  it("does not let bob see the emea company, by search or by id, and audits the refusal", async () => {
    expect(await findCompany(bob, "Nordlicht")).toEqual([]);
    const [company] = await findCompany(alice, "Nordlicht");
    const r = await bob.callTool({ name: "get_company", arguments: { company_id: company!.company_id } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toBe(`company ${company!.company_id} is in tenant emea; you may read na`);
    expect((await outcomeEvent(env.audit, r)).detail.stage).toBe("record_policy");
    const explicit = await bob.callTool({
      name: "search_companies",
      arguments: { query: "Nordlicht", tenant: "emea" },
    });
    expect(textOf(explicit)).toContain("tenant emea is not yours");
  });

  /** A contact of Nordlicht with its email and phone, as dave (crm:pii) sees them. */
  const nordlichtContact = async () => {
    const [company] = await findCompany(dave, "Nordlicht");
    const r = await dave.callTool({ name: "get_company", arguments: { company_id: company!.company_id } });
    const [contact] = (
      r.structuredContent as {
        contacts: {
          items: Array<{ contact_id: string; name: string; job_title: string; email: string; phone: string }>;
        };
      }
    ).contacts.items;
    expect(contact?.email).toMatch(/@nordlicht-logistik\.de$/);
    return contact!;
  };
  const searchContacts = async (client: Client, query: string) => {
    const r = await client.callTool({ name: "search_contacts", arguments: { query, limit: 50 } });
    expect(r.isError, textOf(r)).toBe(false);
    const ids = (r.structuredContent as { contacts: Array<{ contact_id: string }> }).contacts.map(
      (c) => c.contact_id,
    );
    return { ids, event: await outcomeEvent(env.audit, r) };
  };

  it("does not let alice, without crm:pii, confirm a contact's email by searching for it", async () => {
    const contact = await nordlichtContact();
    const withPii = await searchContacts(dave, contact.email);
    expect(withPii.ids).toContain(contact.contact_id);
    const attack = await searchContacts(alice, contact.email);
    expect(attack.ids).toEqual([]);
    expect(attack.event.detail).toMatchObject({
      matched_on: "firstname,lastname,jobtitle",
      upstream: { system: "hubspot", status: 200 },
    });
  });

  it("does not let alice extend an email prefix a character at a time", async () => {
    const contact = await nordlichtContact();
    const at = contact.email.indexOf("@");
    for (const prefix of [contact.email.slice(0, at + 1), contact.email.slice(0, at + 3)]) {
      expect((await searchContacts(dave, prefix)).ids).toContain(contact.contact_id);
      const attack = await searchContacts(alice, prefix);
      expect(attack.ids, prefix).toEqual([]);
      expect(attack.event.detail.matched_on).toBe("firstname,lastname,jobtitle");
    }
  });

  it("does not let alice find a contact by phone number, which dave can", async () => {
    const contact = await nordlichtContact();
    expect((await searchContacts(dave, contact.phone)).ids).toContain(contact.contact_id);
    expect((await searchContacts(alice, contact.phone)).ids).toEqual([]);
  });

  it("lets alice find contacts by the name and job title she sees", async () => {
    const contact = await nordlichtContact();
    const [first, ...rest] = contact.name.split(" ");
    expect((await searchContacts(alice, contact.name)).ids).toContain(contact.contact_id);
    expect((await searchContacts(alice, rest.join(" ").slice(0, 3))).ids).toContain(contact.contact_id);
    expect((await searchContacts(alice, first!)).ids).toContain(contact.contact_id);
    expect((await searchContacts(alice, contact.job_title)).ids).toContain(contact.contact_id);
  });

  it("says in search_contacts' description what it searches, and that emails need crm:pii", async () => {
    const { tools } = await alice.listTools();
    const tool = tools.find((t) => t.name === "search_contacts");
    expect(tool?.description).toMatch(/Without crm:pii it matches only .*first name, last name or job title/);
    expect(tool?.description).toMatch(/With crm:pii .*email/);
    expect(JSON.stringify(tool?.inputSchema)).not.toMatch(/Part of a name, email/);
  });

  it("pages companies with an opaque cursor, every company exactly once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r = await alice.callTool({
        name: "search_companies",
        arguments: { limit: 3, ...(cursor ? { cursor } : {}) },
      });
      expect(r.isError, textOf(r)).toBe(false);
      const out = r.structuredContent as { companies: Company[]; next_cursor: string | null };
      seen.push(...out.companies.map((c) => c.company_id));
      expect(out.companies.every((c) => c.tenant === "emea")).toBe(true);
      cursor = out.next_cursor;
      if (!cursor) break;
    }
    expect(seen.length).toBe(18);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("summarises the deal pipeline of the caller's tenant", async () => {
    const r = await alice.callTool({ name: "deal_pipeline_summary", arguments: {} });
    const out = r.structuredContent as {
      scope: { tenant: string };
      deal_count: number;
      summary: { stages: Array<{ count: number }> };
    };
    expect(out.scope.tenant).toBe("emea");
    expect(out.deal_count).toBe(out.summary.stages.reduce((n, s) => n + s.count, 0));
    expect(out.deal_count).toBeGreaterThan(0);
  });

  const badInputs: Array<[string, string, Record<string, unknown>, string]> = [
    [
      "a non-numeric id",
      "get_company",
      { company_id: "1001 OR 1=1" },
      "company_id: a company id is HubSpot's numeric id",
    ],
    ["an oversized query", "search_companies", { query: "x".repeat(5000) }, "query: Too big"],
    [
      "filter abuse through unknown fields",
      "search_companies",
      { query: "ab", filterGroups: [{ filters: [] }] },
      'unknown field(s) "filterGroups"',
    ],
    [
      "a forged cursor",
      "search_companies",
      { query: "ab", cursor: Buffer.from(JSON.stringify({ a: "99999999" })).toString("base64url") },
      "cursor is not one this server issued",
    ],
    [
      "both company and owner",
      "deal_pipeline_summary",
      { company_id: "1001", owner_id: "501" },
      "give company_id or owner_id, not both",
    ],
  ];

  it.each(badInputs)(
    "answers %s with a clear MCP error and no HubSpot call",
    async (_label, tool, args, message) => {
      const before = hubspot.requestCount();
      const r = await alice.callTool({ name: tool, arguments: args });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(message);
      expect(hubspot.requestCount()).toBe(before);
    },
  );

  it("retries a HubSpot 503 twice and then succeeds, recording the attempts", async () => {
    hubspot.faults.set({ kind: "status", status: 503, times: 2 });
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(r.isError, textOf(r)).toBe(false);
    expect((await outcomeEvent(env.audit, r)).detail.upstream).toMatchObject({ status: 200, attempts: 3 });
  });

  it("meets a 429 storm with bounded retries and a clear error, never a hang, and keeps the circuit closed", async () => {
    hubspot.faults.set({ kind: "status", status: 429, retryAfterSeconds: 1 });
    const before = hubspot.requestCount();
    const started = Date.now();
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^HubSpot is rate limiting \(TEN_SECONDLY_ROLLING\); gave up after \d attempts? over [\d.]+ s/,
    );
    const calls = hubspot.requestCount() - before;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(4);
    expect((await outcomeEvent(env.audit, r)).detail.upstream).toMatchObject({
      system: "hubspot",
      status: 429,
    });
  });

  it("gives up on a HubSpot that never answers within the per-attempt timeout", async () => {
    hubspot.faults.set({ kind: "timeout" });
    const started = Date.now();
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/HubSpot did not answer in time|gave up/);
  });

  it("reports a HubSpot that answers after the per-attempt timeout as a timeout, auditing the attempts as they were", async () => {
    // Each answer comes 1.5 s late (timeout 1 s): it lands while a later attempt is under way.
    hubspot.faults.set({ kind: "latency", ms: 1_500 });
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /^HubSpot did not answer in time \(\d attempts? over [\d.]+ s\)\. Try again later\.$/,
    );
    const upstream = (await outcomeEvent(env.audit, r)).detail.upstream as { attempts: number };
    expect(upstream).toMatchObject({ system: "hubspot", status: "timeout" });
    expect(upstream.attempts).toBeGreaterThanOrEqual(2);
  });

  it("reports a malformed HubSpot answer as an upstream fault, without leaking it", async () => {
    hubspot.faults.set({ kind: "malformed" });
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^HubSpot/);
    expect(textOf(r)).not.toMatch(/Unexpected|JSON|at /);
  });

  it("opens the circuit while HubSpot is down, failing fast, and closes it when HubSpot recovers", async () => {
    hubspot.faults.set({ kind: "status", status: 500 });
    for (let i = 0; i < 3; i++)
      await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    const before = hubspot.requestCount();
    const started = Date.now();
    const r = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(textOf(r)).toContain("HubSpot is unavailable");
    expect(hubspot.requestCount()).toBe(before);
    expect(Date.now() - started).toBeLessThan(1_000);
    hubspot.faults.clear();
    await new Promise((res) => setTimeout(res, 4_200));
    const healed = await alice.callTool({ name: "search_companies", arguments: { query: "Fjord" } });
    expect(healed.isError, textOf(healed)).toBe(false);
  });
});
