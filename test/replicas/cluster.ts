import { availableParallelism } from "node:os";
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

/**
 * How long one replica may take to start: a suite starts several at once on a machine that may be running
 * other suites too (node start-up is CPU-bound; 30 s, the usual allowance, was exceeded at a load of 30).
 */
export const SPAWN_TIMEOUT_MS = 60_000;

/**
 * At most this many server processes start at once. Start-up is CPU-bound: starting six at once on two
 * cores makes each take six times as long, and on a loaded machine pushed some past SPAWN_TIMEOUT_MS.
 */
const STARTING_AT_ONCE = Math.max(1, availableParallelism());
let starting = 0;
const waitingToStart: Array<() => void> = [];

/** spawnHttpServer, queued behind STARTING_AT_ONCE other starts (the timeout counts from its own start). */
export async function spawnServer(entry: string, env: Record<string, string>): Promise<SpawnedServer> {
  while (starting >= STARTING_AT_ONCE) await new Promise<void>((r) => waitingToStart.push(r));
  starting++;
  try {
    return await spawnHttpServer(entry, env, SPAWN_TIMEOUT_MS);
  } finally {
    starting--;
    waitingToStart.shift()?.();
  }
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
  const started = await Promise.allSettled(
    route.replicas.map(async (r) => ({
      name: r.name,
      port: r.port,
      directUrl: `http://127.0.0.1:${r.port}/mcp`,
      server: await spawnServer(entry, {
        ...env,
        GATEHOUSE_PORT: String(r.port),
        GATEHOUSE_PUBLIC_URL: publicUrl,
      }),
    })),
  );
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    // The caller never sees the replicas that did start: stop them here, or they outlive the run.
    await stopAll(started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])));
    throw failure.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<Replica>).value);
}

/** SIGKILLs every replica (a test's teardown: nothing to drain). */
export async function stopAll(replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.server.stop("SIGKILL")));
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
