import { type SpawnedServer, spawnHttpServer } from "@gatehouse/testing";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { type Backend, freePort, REPLICA_HEADER } from "./haproxy.ts";

export interface Replica {
  name: string;
  port: number;
  /** The replica itself, bypassing the proxy (`http://127.0.0.1:<port>/mcp`). */
  directUrl: string;
  server: SpawnedServer;
}

/** Ports for one route: the proxy's and one per replica, chosen before anything starts. */
export async function planRoute(name: string, count: number): Promise<Backend> {
  const port = await freePort();
  const replicas = [];
  for (let i = 1; i <= count; i++) replicas.push({ name: `${name}-${i}`, port: await freePort() });
  return { name, port, replicas };
}

/**
 * Starts every replica of a route as its own server process. They all name the proxy's URL as their public
 * resource URL, so a token minted for that audience verifies on each of them (and the proxy's Host,
 * 127.0.0.1, is a loopback host every server accepts).
 */
export async function startReplicas(
  entry: string,
  route: Backend,
  env: Record<string, string>,
): Promise<Replica[]> {
  const publicUrl = `http://127.0.0.1:${route.port}/mcp`;
  return Promise.all(
    route.replicas.map(async (r) => ({
      name: r.name,
      port: r.port,
      directUrl: `http://127.0.0.1:${r.port}/mcp`,
      server: await spawnHttpServer(entry, {
        ...env,
        GATEHOUSE_PORT: String(r.port),
        GATEHOUSE_PUBLIC_URL: publicUrl,
      }),
    })),
  );
}

/**
 * An MCP SDK client over Streamable HTTP with a bearer token that also remembers which replica the proxy
 * said served its last `tools/call` (the REPLICA_HEADER on the answer, a proxy-made 502 included). Meant
 * for one call in flight at a time, as the load clients make them.
 */
export async function connectTracked(
  url: string,
  token: string,
): Promise<{ client: Client; lastReplica(): string | undefined; forget(): void }> {
  let last: string | undefined;
  const client = new Client({ name: "gatehouse-replicas-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (typeof init?.body === "string" && init.body.includes('"tools/call"'))
          last = res.headers.get(REPLICA_HEADER) ?? undefined;
        return res;
      },
    }),
  );
  return {
    client,
    lastReplica: () => last,
    forget: () => {
      last = undefined;
    },
  };
}
