import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { ordersMatrix } from "./orders-matrix.ts";

type Customer = { customer_id: string; name: string; contact_email: string; contact_phone: string };

/**
 * search_customers must not be an oracle on the contact details it redacts without orders:pii: it matches
 * the company name and web domain only, for everyone.
 */
describe.each(ordersMatrix())(
  "order-lookup search_customers matches only what it shows ($ordersKind orders)",
  (world) => {
    let env: TestEnvironment;
    let server: SpawnedServer;
    let alice: Client;
    let dave: Client;

    beforeAll(async () => {
      env = await createTestEnvironment(world);
      server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
      const mint = async (user: string) =>
        connectHttp(server.url, await env.mint(user, { audience: server.url }));
      [alice, dave] = await Promise.all([mint("alice"), mint("dave")]);
    });

    afterAll(async () => {
      await Promise.all([alice?.close(), dave?.close()]);
      await server?.stop();
      await env?.close();
    });

    const search = async (client: Client, query: string) => {
      const r = await client.callTool({ name: "search_customers", arguments: { query, limit: 50 } });
      expect(r.isError, textOf(r)).toBe(false);
      return {
        customers: (r.structuredContent as { customers: Customer[] }).customers,
        event: await outcomeEvent(env.audit, r),
      };
    };

    it("finds nothing for alice, without orders:pii, by a contact's email or its prefix", async () => {
      const [nordlicht] = (await search(dave, "Nordlicht")).customers;
      const email = nordlicht!.contact_email;
      expect(email).toMatch(/^[^@]+@nordlicht-logistik\.de$/);
      const local = email.slice(0, email.indexOf("@"));
      for (const probe of [email, `${local}@`, local, nordlicht!.contact_phone]) {
        const attack = await search(alice, probe);
        expect(attack.customers, probe).toEqual([]);
        expect(attack.event.type).toBe("tool.completed");
      }
      // Found by what alice sees, with the details redacted.
      const [seen] = (await search(alice, "nordlicht-logistik.de")).customers;
      expect(seen).toMatchObject({ customer_id: nordlicht!.customer_id, contact_email: "[redacted:pii]" });
    });

    it("says in search_customers' description that it searches the name and web domain", async () => {
      const { tools } = await alice.listTools();
      const tool = tools.find((t) => t.name === "search_customers");
      expect(tool?.description).toMatch(/by name or web domain/);
    });
  },
);
