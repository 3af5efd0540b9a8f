import {
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  standInEnv,
  type TestEnvironment,
} from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { PRODUCER_CONTRACTS } from "../../servers/business/src/producer-contracts.ts";
import { incompatibilities, type JsonSchema } from "../support/schema-compat.ts";
import {
  CRM_READ_ENTRY,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
} from "../support/servers.ts";

/** What business expects of a producer's result, as JSON Schema (what its parse accepts). */
const consumerSchema = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;

/**
 * business reads the domain servers' results through schemas of its own (producer-contracts.ts); servers
 * never import each other. This suite holds those schemas against the producers' live tools/list, so a
 * producer change that would break business fails here, not in a finding.
 */
describe("business's contracts with the servers it calls", () => {
  let env: TestEnvironment;
  let hubspot: RunningHubSpot;
  let jira: RunningJira;
  const producers: Record<string, SpawnedServer> = {};
  const published: Record<string, Map<string, JsonSchema | undefined>> = {};

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    hubspot = await startHubSpotSandbox({ port: 0 });
    jira = await startJiraSandbox({ port: 0 });
    const common = { ...env.env, ...RELAXED_LIMITS, ...standInEnv({ hubspot, jira }) };
    const entries = {
      "crm-read": CRM_READ_ENTRY,
      "order-lookup": ORDER_LOOKUP_ENTRY,
      "ticket-draft": TICKET_DRAFT_ENTRY,
    };
    await Promise.all(
      Object.entries(entries).map(async ([name, entry]) => {
        const server = await spawnHttpServer(entry, common);
        producers[name] = server;
        const client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
        const { tools } = await client.listTools();
        published[name] = new Map(tools.map((t) => [t.name, t.outputSchema as JsonSchema | undefined]));
        await client.close();
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(producers).map((s) => s.stop()));
    await hubspot?.close();
    await jira?.close();
    await env?.close();
  });

  const calls = Object.entries(PRODUCER_CONTRACTS).flatMap(([server, tools]) =>
    Object.entries(tools).map(([tool, schema]) => ({ server, tool, schema: schema as z.ZodType })),
  );

  it.each(calls)(
    "$server $tool: every result it may send is one business can read",
    ({ server, tool, schema }) => {
      const live = published[server]?.get(tool);
      expect(live, `${server} no longer offers ${tool} with an outputSchema`).toBeDefined();
      expect(incompatibilities(live!, consumerSchema(schema))).toEqual([]);
    },
  );

  it("notices the producer changes that would break business", () => {
    const live = published["order-lookup"]!.get("list_unpaid_invoices")!;
    const consumer = consumerSchema(PRODUCER_CONTRACTS["order-lookup"].list_unpaid_invoices);
    const clone = () => structuredClone(live) as JsonSchema;
    const invoice = (s: JsonSchema) => s.properties!.invoices!.items!;

    // A field business reads is dropped.
    const dropped = clone();
    delete invoice(dropped).properties!.days_overdue;
    invoice(dropped).required = invoice(dropped).required!.filter((k) => k !== "days_overdue");
    expect(incompatibilities(dropped, consumer)).toContainEqual(expect.stringContaining("days_overdue"));

    // A field becomes optional.
    const optional = clone();
    invoice(optional).required = invoice(optional).required!.filter((k) => k !== "currency");
    expect(incompatibilities(optional, consumer)).toContainEqual(expect.stringContaining("may leave it out"));

    // Cents become a decimal string, or may be null.
    const retyped = clone();
    invoice(retyped).properties!.outstanding_cents = { type: "string" };
    expect(incompatibilities(retyped, consumer)).toContainEqual(expect.stringContaining("may send string"));
    const nullable = clone();
    invoice(nullable).properties!.outstanding_cents = { anyOf: [{ type: "integer" }, { type: "null" }] };
    expect(incompatibilities(nullable, consumer)).toContainEqual(expect.stringContaining("may send null"));

    // A result renamed at the top.
    const renamed = clone();
    renamed.properties = { rows: renamed.properties!.invoices! };
    renamed.required = ["rows", "next_cursor"];
    expect(incompatibilities(renamed, consumer)).toContainEqual(expect.stringContaining("$.invoices"));

    // An added field is fine: business lists only what it reads.
    const added = clone();
    invoice(added).properties!.note = { type: "string" };
    expect(incompatibilities(added, consumer)).toEqual([]);
  });
});
