import { Client } from "@hubspot/api-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  buildCrmSeed,
  buildOrdersSeed,
  type CrmSeed,
  HUBSPOT_SANDBOX_TOKEN,
  type RunningHubSpot,
  SEED_COMPANIES,
  startHubSpotSandbox,
} from "../src/index.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What `@hubspot/api-client` throws for a non-2xx answer (each API module has its own ApiException class). */
interface ApiError {
  code: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

function client(s: RunningHubSpot, token = s.token): Client {
  return new Client({ accessToken: token, basePath: s.url, numberOfApiCallRetries: 0 });
}

/** The search body as HubSpot takes it (the client types `sorts` as string[] and operators as an enum). */
interface SearchBody {
  filterGroups?: Array<{ filters: Array<Record<string, unknown>> }>;
  sorts?: Array<string | { propertyName: string; direction: string }>;
  query?: string;
  properties?: string[];
  limit?: number;
  after?: string;
}
type SearchRequest = Parameters<Client["crm"]["companies"]["searchApi"]["doSearch"]>[0];
const search = (c: Client, type: "companies" | "contacts" | "deals", body: SearchBody) =>
  c.crm[type].searchApi.doSearch(body as unknown as SearchRequest);

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).constructor.name).toBe("ApiException");
    return e as ApiError;
  }
  throw new Error("expected the call to fail");
}

let seed: CrmSeed;
let hs: RunningHubSpot;
let hc: Client;
beforeAll(async () => {
  seed = buildCrmSeed();
  // Reads below page quickly; the rate-limit tests use their own sandboxes with the real limits.
  hs = await startHubSpotSandbox({ port: 0, seed, limits: { tenSecondly: 10_000, searchPerSecond: 1000 } });
  hc = client(hs);
});
afterAll(() => hs.close());

describe("HubSpot CRM seed", () => {
  it("is deterministic and holds exactly the orders stand-in's companies, tagged by region", () => {
    expect(buildCrmSeed()).toEqual(seed);
    const expected = Object.entries(SEED_COMPANIES).flatMap(([region, cs]) =>
      cs.map(([name, domain]) => ({ name, domain, region })),
    );
    expect(seed.companies.map((c) => c.id)).toEqual(expected.map((_, i) => String(1001 + i)));
    expect(
      seed.companies.map((c) => ({
        name: c.properties.name,
        domain: c.properties.domain?.trim().toLowerCase(),
        region: c.properties.region,
      })),
    ).toEqual(expected);
    for (const c of seed.companies) {
      expect(["lead", "opportunity", "customer", "evangelist"]).toContain(c.properties.lifecyclestage);
      expect(seed.owners.map((o) => o.id)).toContain(c.properties.hubspot_owner_id);
      for (const p of ["industry", "city", "country", "createdate", "hs_lastmodifieddate"])
        expect(c.properties[p], `${c.properties.name}.${p}`).toBeTruthy();
    }
    expect(seed.owners.map((o) => o.id)).toEqual(["501", "502", "503", "504"]);
  });

  it("keeps the two messy domains for join tests", () => {
    const byName = (n: string) => seed.companies.find((c) => c.properties.name === n)!;
    expect(byName("Fjord Maritime AS").properties).toMatchObject({
      domain: "fjordmaritime.no",
      hs_additional_domains: "fjord-maritime.com",
      region: "emea",
    });
    expect(byName("Hudson Data Systems").properties).toMatchObject({
      domain: " HudsonData.IO ",
      region: "na",
    });
    expect(seed.companies.filter((c) => c.properties.hs_additional_domains)).toHaveLength(1);
  });

  it("gives every company 2–4 contacts and 1–5 deals that are associated with it", () => {
    const orderEmails = new Set(buildOrdersSeed().customers.map((c) => c.contactEmail));
    for (const company of seed.companies) {
      const region = company.properties.region;
      const cleanDomain = company.properties.domain!.trim().toLowerCase();
      const linked = (toType: string) =>
        seed.associations
          .filter((a) => a.fromType === "companies" && a.fromId === company.id && a.toType === toType)
          .map((a) => a.toId);
      const contacts = seed.contacts.filter((c) => linked("contacts").includes(c.id));
      const deals = seed.deals.filter((d) => linked("deals").includes(d.id));
      expect(contacts.length).toBeGreaterThanOrEqual(2);
      expect(contacts.length).toBeLessThanOrEqual(4);
      expect(deals.length).toBeGreaterThanOrEqual(1);
      expect(deals.length).toBeLessThanOrEqual(5);
      for (const c of contacts) {
        expect(c.properties.email!.endsWith(`@${cleanDomain}`)).toBe(true);
        expect(c.properties.phone).toMatch(region === "emea" ? /^\+49 / : /^\+1 /);
        expect(c.properties.region).toBe(region);
        expect(c.properties.firstname && c.properties.lastname && c.properties.jobtitle).toBeTruthy();
      }
      // The orders stand-in's customer contact is in the CRM too.
      expect(orderEmails.has(contacts[0]!.properties.email!)).toBe(true);
      for (const d of deals) {
        expect(d.properties.amount).toMatch(/^\d+$/);
        expect(d.properties).toMatchObject({ pipeline: "default", region });
        expect([
          "appointmentscheduled",
          "qualifiedtobuy",
          "presentationscheduled",
          "contractsent",
          "closedwon",
          "closedlost",
        ]).toContain(d.properties.dealstage);
      }
    }
  });
});

describe("HubSpot sandbox through @hubspot/api-client", () => {
  it("finds companies by free-text query over name, domain and additional domains", async () => {
    const names = async (query: string) =>
      (await search(hc, "companies", { query, properties: ["name"] })).results.map((r) => r.properties.name);
    expect(await names("fjord-maritime.com")).toEqual(["Fjord Maritime AS"]);
    expect(await names("fjordmaritime.no")).toEqual(["Fjord Maritime AS"]);
    expect(await names("hudsondata.io")).toEqual(["Hudson Data Systems"]);
    expect(await names("HELIOS")).toEqual(["Helios Solar BV"]);
    expect(await names("nordl")).toEqual(["Nordlicht Logistik GmbH"]);
    expect(await names("lumiere")).toEqual(["Atelier Lumière SARL"]);
    expect(await names("no such company")).toEqual([]);
  });

  it("pages a region filter with `after` until exhausted, returning every emea company exactly once", async () => {
    const emea = seed.companies.filter((c) => c.properties.region === "emea");
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await search(hc, "companies", {
        filterGroups: [{ filters: [{ propertyName: "region", operator: "EQ", value: "emea" }] }],
        sorts: [{ propertyName: "name", direction: "ASCENDING" }],
        properties: ["name", "region"],
        limit: 5,
        ...(after ? { after } : {}),
      });
      expect(page.total).toBe(emea.length);
      for (const r of page.results) {
        expect(r.properties).toMatchObject({ region: "emea", hs_object_id: r.id });
        expect(Object.keys(r.properties).sort()).toEqual(
          ["createdate", "hs_lastmodifieddate", "hs_object_id", "name", "region"].sort(),
        );
        expect(r.createdAt).toBeInstanceOf(Date);
        expect(r.archived).toBe(false);
      }
      seen.push(...page.results.map((r) => r.properties.name!));
      after = page.paging?.next?.after;
      pages++;
    } while (after);
    expect(pages).toBe(Math.ceil(emea.length / 5));
    expect(seen).toHaveLength(emea.length);
    expect(new Set(seen)).toEqual(new Set(emea.map((c) => c.properties.name)));
    expect(seen).toEqual([...seen].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" })));
  });

  it("applies HubSpot's filter operators, ANDed within a group and ORed across groups", async () => {
    const ids = async (type: "companies" | "deals", filterGroups: SearchBody["filterGroups"]) =>
      (await search(hc, type, { filterGroups, limit: 200 })).results.map((r) => r.id);
    const where = (type: "companies" | "deals", pred: (p: Record<string, string>) => boolean) =>
      seed[type].filter((r) => pred(r.properties)).map((r) => r.id);
    const f = (propertyName: string, operator: string, extra: Record<string, unknown> = {}) => ({
      filters: [{ propertyName, operator, ...extra }],
    });

    expect(await ids("companies", [f("hs_additional_domains", "HAS_PROPERTY")])).toEqual(["1002"]);
    expect(await ids("companies", [f("hs_additional_domains", "NOT_HAS_PROPERTY")])).toHaveLength(
      seed.companies.length - 1,
    );
    expect(await ids("companies", [f("region", "NEQ", { value: "emea" })])).toEqual(
      where("companies", (p) => p.region === "na"),
    );
    expect(await ids("companies", [f("lifecyclestage", "IN", { values: ["lead", "evangelist"] })])).toEqual(
      where("companies", (p) => p.lifecyclestage === "lead" || p.lifecyclestage === "evangelist"),
    );
    expect(
      await ids("companies", [f("lifecyclestage", "NOT_IN", { values: ["lead", "evangelist"] })]),
    ).toEqual(where("companies", (p) => p.lifecyclestage !== "lead" && p.lifecyclestage !== "evangelist"));
    expect(await ids("companies", [f("name", "CONTAINS_TOKEN", { value: "solar" })])).toEqual(
      where("companies", (p) => /solar/i.test(p.name!)),
    );
    expect(await ids("deals", [f("amount", "GT", { value: "50000" })])).toEqual(
      where("deals", (p) => Number(p.amount) > 50_000),
    );
    expect(await ids("deals", [f("amount", "LTE", { value: "10000" })])).toEqual(
      where("deals", (p) => Number(p.amount) <= 10_000),
    );
    const cutoff = "2025-10-01T00:00:00.000Z";
    expect(await ids("deals", [f("closedate", "LT", { value: String(Date.parse(cutoff)) })])).toEqual(
      where("deals", (p) => p.closedate! < cutoff),
    );
    expect(await ids("deals", [f("closedate", "GTE", { value: cutoff })])).toEqual(
      where("deals", (p) => p.closedate! >= cutoff),
    );
    // (na AND customer) OR name contains "fjord"
    expect(
      await ids("companies", [
        {
          filters: [
            { propertyName: "region", operator: "EQ", value: "na" },
            { propertyName: "lifecyclestage", operator: "EQ", value: "customer" },
          ],
        },
        f("name", "CONTAINS_TOKEN", { value: "fjord" }),
      ]),
    ).toEqual(
      where(
        "companies",
        (p) => (p.region === "na" && p.lifecyclestage === "customer") || p.name === "Fjord Maritime AS",
      ),
    );
  });

  it("lists every object page by page for the client's getAll", async () => {
    const all = await hc.crm.contacts.getAll(40, undefined, ["email", "region"]);
    expect(all.map((c) => c.id)).toEqual(seed.contacts.map((c) => c.id));
    expect(all[0]!.properties).toMatchObject({ email: seed.contacts[0]!.properties.email });
  });

  it("sorts by a property in either direction", async () => {
    const desc = await search(hc, "deals", { sorts: ["-amount"], properties: ["amount"], limit: 200 });
    const amounts = desc.results.map((r) => Number(r.properties.amount));
    expect(amounts).toEqual([...amounts].sort((a, b) => b - a));
    expect(desc.total).toBe(seed.deals.length);
    const defaultOrder = await search(hc, "deals", { limit: 3 });
    expect(defaultOrder.results.map((r) => r.id)).toEqual(["3001", "3002", "3003"]);
    expect(defaultOrder.results[0]!.properties).toHaveProperty("dealstage");
  });

  it("reads a company by id with only the requested properties and its associations", async () => {
    const hudson = seed.companies.find((c) => c.properties.name === "Hudson Data Systems")!;
    const got = await hc.crm.companies.basicApi.getById(
      hudson.id,
      ["name", "domain", "nonexistent"],
      undefined,
      ["contacts", "deals"],
    );
    expect(got.id).toBe(hudson.id);
    expect(got.properties).toEqual({
      name: "Hudson Data Systems",
      domain: " HudsonData.IO ",
      nonexistent: null,
      hs_object_id: hudson.id,
      createdate: hudson.properties.createdate,
      hs_lastmodifieddate: hudson.properties.hs_lastmodifieddate,
    });
    const linked = (toType: string) =>
      seed.associations.filter((a) => a.fromId === hudson.id && a.toType === toType).map((a) => a.toId);
    expect(got.associations?.contacts?.results).toEqual(
      linked("contacts").map((id) => ({ id, type: "company_to_contact" })),
    );
    expect(got.associations?.deals?.results.map((r) => r.id)).toEqual(linked("deals"));
  });

  it("lists v4 associations page by page, and the company's contacts by batch read", async () => {
    const company = seed.companies[0]!;
    const expected = seed.associations
      .filter((a) => a.fromId === company.id && a.toType === "contacts")
      .map((a) => Number(a.toId));
    const got: number[] = [];
    let after: string | undefined;
    do {
      const page = await hc.crm.associations.v4.basicApi.getPage(
        "companies",
        company.id,
        "contacts",
        after,
        1,
      );
      for (const r of page.results) {
        expect(r.associationTypes).toEqual([{ category: "HUBSPOT_DEFINED", typeId: 280, label: null }]);
        // Typed `string` by the client, but HubSpot (and the sandbox) send a number and nothing coerces it.
        expect(typeof r.toObjectId).toBe("number");
        got.push(Number(r.toObjectId));
      }
      after = page.paging?.next?.after;
    } while (after);
    expect(got).toEqual(expected);

    const back = await hc.crm.associations.v4.basicApi.getPage("contact", String(expected[0]), "company");
    expect(back.results).toEqual([
      {
        toObjectId: Number(company.id),
        associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: 279, label: null }],
      },
    ]);

    const contacts = await hc.crm.contacts.batchApi.read({
      inputs: got.map((id) => ({ id: String(id) })),
      properties: ["email", "phone", "region"],
      propertiesWithHistory: [],
    });
    expect(contacts.results.map((c) => c.properties.email).sort()).toEqual(
      seed.contacts
        .filter((c) => expected.includes(Number(c.id)))
        .map((c) => c.properties.email)
        .sort(),
    );
    // The same contacts through search.
    const viaSearch = await search(hc, "contacts", {
      filterGroups: [
        { filters: [{ propertyName: "hs_object_id", operator: "IN", values: got.map(String) }] },
      ],
      properties: ["email"],
    });
    expect(viaSearch.total).toBe(got.length);
  });

  it("reports missing ids in a batch read as a 207 with errors", async () => {
    const res = await hc.crm.contacts.batchApi.read({
      inputs: [{ id: "2001" }, { id: "999999" }],
      properties: ["email"],
      propertiesWithHistory: [],
    });
    expect(res.results.map((r) => r.id)).toEqual(["2001"]);
    expect("errors" in res && res.errors?.[0]).toMatchObject({
      category: "OBJECT_NOT_FOUND",
      context: { ids: ["999999"] },
    });
  });

  it("serves owners by id and by page", async () => {
    const owner = await hc.crm.owners.ownersApi.getById(503);
    expect(owner).toMatchObject({ id: "503", firstName: "Jordan", lastName: "Ellis", type: "PERSON" });
    const all = await hc.crm.owners.ownersApi.getPage(undefined, undefined, 3);
    expect(all.results.map((o) => o.id)).toEqual(["501", "502", "503"]);
    const rest = await hc.crm.owners.ownersApi.getPage(undefined, all.paging?.next?.after, 3);
    expect(rest.results.map((o) => o.id)).toEqual(["504"]);
    expect(rest.paging).toBeUndefined();
  });

  it("answers an unknown object id with HubSpot's 404 body", async () => {
    const err = await apiError(hc.crm.companies.basicApi.getById("424242"));
    expect(err.code).toBe(404);
    expect(err.body).toEqual({
      status: "error",
      message: "Object not found. objectId are usually numeric.",
      correlationId: expect.stringMatching(UUID),
      category: "OBJECT_NOT_FOUND",
    });
    expect(err.headers["x-hubspot-correlation-id"]).toBe(err.body.correlationId);
  });

  it("refuses a wrong or missing token with 401 INVALID_AUTHENTICATION", async () => {
    const before = hs.requestCount();
    const err = await apiError(client(hs, "pat-na1-wrong").crm.companies.basicApi.getById("1001"));
    expect(err.code).toBe(401);
    expect(err.body).toMatchObject({
      status: "error",
      category: "INVALID_AUTHENTICATION",
      correlationId: expect.stringMatching(UUID),
    });
    expect(String(err.body.message)).toMatch(
      /^Authentication credentials not found\. This API supports OAuth 2\.0/,
    );
    const bare = await fetch(`${hs.url}/crm/v3/objects/companies/1001`);
    expect(bare.status).toBe(401);
    expect(hs.requestCount() - before).toBe(2);
  });

  const many = (n: number) =>
    Array.from({ length: n }, () => ({ propertyName: "region", operator: "EQ", value: "na" }));
  it.each<[string, SearchBody, RegExp]>([
    ["limit above 200", { limit: 201 }, /limit \(201\) exceeds the maximum of 200/],
    [
      "more than 5 filter groups",
      { filterGroups: Array.from({ length: 6 }, () => ({ filters: many(1) })) },
      /Too many filter groups \(6\)/,
    ],
    [
      "more than 6 filters in a group",
      { filterGroups: [{ filters: many(7) }] },
      /Too many filters in filter group 0/,
    ],
    [
      "more than 18 filters in total",
      {
        filterGroups: [
          { filters: many(5) },
          { filters: many(5) },
          { filters: many(5) },
          { filters: many(4) },
        ],
      },
      /Too many filters \(19\)/,
    ],
    ["paging beyond 10,000 results", { after: "10000" }, /limited to 10000 records/],
    ["a query longer than 3000 characters", { query: "a".repeat(3001) }, /Query is too long \(3001/],
    [
      "an unknown operator",
      { filterGroups: [{ filters: [{ propertyName: "name", operator: "LIKE", value: "x" }] }] },
      /FilterOperator.*"LIKE"/,
    ],
  ])("rejects %s with 400 VALIDATION_ERROR", async (_, body, message) => {
    const err = await apiError(search(hc, "companies", body));
    expect(err.code).toBe(400);
    expect(err.body).toMatchObject({
      status: "error",
      category: "VALIDATION_ERROR",
      correlationId: expect.stringMatching(UUID),
      message: expect.stringMatching(message),
    });
  });

  it("accepts the largest valid search (5 groups, 18 filters, limit 200)", async () => {
    const res = await search(hc, "companies", {
      filterGroups: [many(6), many(6), many(3), many(2), many(1)].map((filters) => ({ filters })),
      limit: 200,
      query: "a".repeat(10),
    });
    expect(res.total).toBe(0);
  });
});

describe("HubSpot rate limits", () => {
  let rl: RunningHubSpot | undefined;
  afterEach(async () => {
    await rl?.close();
    rl = undefined;
  });

  it("answers 429 TEN_SECONDLY_ROLLING with Retry-After once the rolling window is full", async () => {
    rl = await startHubSpotSandbox({ port: 0, seed, limits: { tenSecondly: 5 } });
    const c = client(rl);
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const info = await c.crm.companies.basicApi.getByIdWithHttpInfo("1001");
      remaining.push(info.headers["x-hubspot-ratelimit-remaining"]!);
      expect(info.headers["x-hubspot-ratelimit-max"]).toBe("5");
      expect(info.headers["x-hubspot-ratelimit-interval-milliseconds"]).toBe("10000");
    }
    expect(remaining).toEqual(["4", "3", "2", "1", "0"]);
    const err = await apiError(c.crm.companies.basicApi.getById("1001"));
    expect(err.code).toBe(429);
    expect(err.body).toEqual({
      status: "error",
      message: "You have reached your ten_secondly_rolling limit.",
      errorType: "RATE_LIMIT",
      correlationId: expect.stringMatching(UUID),
      policyName: "TEN_SECONDLY_ROLLING",
    });
    const retryAfter = Number(err.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(err.headers["x-hubspot-ratelimit-remaining"]).toBe("0");
    expect(rl.requestCount()).toBe(6);
    rl.resetRateLimits();
    await expect(c.crm.companies.basicApi.getById("1001")).resolves.toBeTruthy();
  });

  it("limits search to its per-second policy (SECONDLY) on top of the ten-secondly one", async () => {
    rl = await startHubSpotSandbox({ port: 0, seed });
    const c = client(rl);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 7 }, () => search(c, "companies", { query: "solar" })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(5);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(refused).toHaveLength(2);
    const err = refused[0]!.reason as ApiError;
    expect(err.code).toBe(429);
    expect(err.body).toMatchObject({
      message: "You have reached your secondly limit.",
      errorType: "RATE_LIMIT",
      policyName: "SECONDLY",
    });
    expect(err.headers["retry-after"]).toBe("1");
    // Other endpoints are not held back by the search policy.
    await expect(c.crm.companies.basicApi.getById("1001")).resolves.toBeTruthy();
  });
});

describe("HubSpot fault injection", () => {
  let fs: RunningHubSpot | undefined;
  afterEach(async () => {
    await fs?.close();
    fs = undefined;
  });
  const start = async () => {
    fs = await startHubSpotSandbox({ port: 0, seed, limits: { tenSecondly: 1000, searchPerSecond: 1000 } });
    return { s: fs, c: client(fs) };
  };

  it("delays answers by the injected latency", async () => {
    const { s, c } = await start();
    s.faults.set({ kind: "latency", ms: 300 });
    const t0 = performance.now();
    await c.crm.companies.basicApi.getById("1001");
    const slow = performance.now() - t0;
    expect(slow).toBeGreaterThanOrEqual(280);
    s.faults.clear();
    const t1 = performance.now();
    await c.crm.companies.basicApi.getById("1001");
    expect(performance.now() - t1).toBeLessThan(slow);
  });

  it("fails the next two requests with 503 (set over HTTP), then succeeds; the client does not retry", async () => {
    const { s, c } = await start();
    const set = await fetch(`${s.url}/__sandbox/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "status", status: 503, times: 2 }),
    });
    expect(set.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const err = await apiError(c.crm.companies.basicApi.getById("1001"));
      expect(err.code).toBe(503);
      expect(err.body).toMatchObject({ status: "error", correlationId: expect.stringMatching(UUID) });
    }
    await expect(c.crm.companies.basicApi.getById("1001")).resolves.toMatchObject({ id: "1001" });
    expect(s.requestCount("/crm/v3/objects/companies")).toBe(3); // control routes are not counted
    expect(s.faults.active()).toEqual([]);
    expect((await fetch(`${s.url}/__sandbox/faults`, { method: "DELETE" })).status).toBe(204);
  });

  it("injects a 429 with the ten-secondly body and the chosen Retry-After, and scopes faults by path", async () => {
    const { s, c } = await start();
    s.faults.set({ kind: "status", status: 429, retryAfterSeconds: 7, path: "/crm/v3/objects/deals" });
    const err = await apiError(search(c, "deals", {}));
    expect(err.code).toBe(429);
    expect(err.body).toMatchObject({ policyName: "TEN_SECONDLY_ROLLING", errorType: "RATE_LIMIT" });
    expect(err.headers["retry-after"]).toBe("7");
    await expect(search(c, "companies", {})).resolves.toMatchObject({ total: seed.companies.length });
  });

  it("with numberOfApiCallRetries N the client makes N attempts in all on a 5xx", async () => {
    const { s } = await start();
    s.faults.set({ kind: "status", status: 500 });
    const retrying = new Client({ accessToken: s.token, basePath: s.url, numberOfApiCallRetries: 2 });
    const api = retrying.crm.companies.basicApi; // decorators are bound when the API is first touched
    const err = await apiError(api.getById("1001"));
    expect(err.code).toBe(500);
    expect(s.requestCount()).toBe(2);
  });

  it("holds a request under a timeout fault until the caller gives up, and still closes promptly", async () => {
    const { s, c } = await start();
    s.faults.set({ kind: "timeout" });
    const call = c.crm.companies.basicApi.getById("1001");
    call.catch(() => {}); // settles (socket destroyed) only when the sandbox closes
    const outcome = await Promise.race([
      call.then(() => "answered"),
      new Promise((r) => setTimeout(() => r("caller timed out"), 200)),
    ]);
    expect(outcome).toBe("caller timed out");
    expect(s.requestCount()).toBe(1);
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(call).rejects.toThrow();
  });

  it("answers held requests normally once the timeout fault is cleared", async () => {
    const { s, c } = await start();
    s.faults.set({ kind: "timeout", times: 1 });
    const held = c.crm.companies.basicApi.getById("1001");
    await new Promise((r) => setTimeout(r, 100));
    await expect(c.crm.companies.basicApi.getById("1002")).resolves.toMatchObject({ id: "1002" });
    s.faults.clear();
    await expect(held).resolves.toMatchObject({ id: "1001" });
  });

  it("sends a truncated JSON body that makes the client throw", async () => {
    const { s, c } = await start();
    s.faults.set({ kind: "malformed", times: 1 });
    await expect(search(c, "companies", {})).rejects.toThrow(SyntaxError);
    await expect(search(c, "companies", {})).resolves.toMatchObject({ total: seed.companies.length });
  });

  it("rejects an invalid fault over HTTP and needs no token for the control routes", async () => {
    const { s } = await start();
    const bad = await fetch(`${s.url}/__sandbox/faults`, {
      method: "POST",
      body: JSON.stringify({ kind: "status", status: 418 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ message: expect.stringContaining("status") });
    expect(s.requestCount()).toBe(0);
  });
});

it("uses the documented default token", () => {
  expect(HUBSPOT_SANDBOX_TOKEN).toBe("pat-sandbox-00000000-0000-4000-8000-000000000000");
});
