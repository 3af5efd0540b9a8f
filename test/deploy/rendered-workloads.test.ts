import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SpawnedServer, spawnHttpServer } from "@gatehouse/kit";
import { openStore } from "@gatehouse/store";
import { createPostgresDatabase } from "@gatehouse/testing";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type KubernetesObject, loadValues, renderObjects } from "../../deploy/src/index.ts";

const REPO = join(import.meta.dirname, "..", "..");
const pgAdminUrl = inject("pgAdminUrl");

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
type Container = {
  args: string[];
  env: EnvVar[];
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
};
type Workload = KubernetesObject & {
  metadata: { labels: Record<string, string> };
  spec: { template: { spec: { containers: Container[] } } };
};

/** What the kubelet would hand the container: plain values as rendered, Secret references looked up. */
function containerEnv(c: Container, secrets: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    c.env.map((e) => {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) return [e.name, e.value ?? ""];
      const value = secrets[`${ref.name}/${ref.key}`];
      if (value === undefined)
        throw new Error(`${e.name} references ${ref.name}/${ref.key}, which the test has no value for`);
      return [e.name, value];
    }),
  );
}

/** Runs a container's command as the image does (`node <args>`), and waits for it to exit. */
async function runToExit(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

/** One request with a chosen Host header (fetch would replace it with the URL's). */
function requestWithHost(port: number, path: string, host: string, method = "GET", body?: string) {
  return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, method, headers: { host, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const freePort = async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
};

// The rendered default manifests, run here: the migration Job's command against a fresh PostgreSQL store, then
// a server started with its Deployment's arguments and environment, probed on the rendered paths the way a
// kubelet does (by the pod's address, no token).
describe.runIf(pgAdminUrl)("the rendered workloads, run as Kubernetes would run them", () => {
  const objects = renderObjects(loadValues());
  const job = objects.find((o) => o.kind === "Job") as Workload;
  const crmRead = objects.find(
    (o) =>
      o.kind === "Deployment" &&
      (o as Workload).metadata.labels["app.kubernetes.io/component"] === "crm-read",
  ) as Workload;
  let store: { url: string; drop(): Promise<void> };
  let issuer: Server;
  let issuerUrl: string;
  let dataDir: string;
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    store = await createPostgresDatabase(pgAdminUrl);
    dataDir = mkdtempSync(join(tmpdir(), "gatehouse-deploy-"));
    // The identity provider is an edge we do not own: a JWKS endpoint with one real key stands in for it.
    const { publicKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({
      keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" }],
    });
    issuer = createServer((req, res) => {
      if (req.url === "/jwks.json") res.writeHead(200, { "content-type": "application/json" }).end(jwks);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => issuer.listen(0, "127.0.0.1", r));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => issuer?.close(r));
    await store?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("the migration Job's command brings an empty store up to date, then finds nothing to do", async () => {
    const c = job.spec.template.spec.containers[0]!;
    const env = containerEnv(c, { "gatehouse-store/database-url": store.url });
    const first = await runToExit(c.args, env);
    expect(first.stderr).toMatch(/is up to date \(applied 001_/);
    expect(first.code).toBe(0);
    expect(first.stderr).not.toContain(new URL(store.url).password || "\u0000");
    const opened = openStore({ databaseUrl: store.url, sqlitePath: "" });
    try {
      expect(await opened.db.selectFrom("audit_events").selectAll().execute()).toEqual([]);
    } finally {
      await opened.close();
    }
    const again = await runToExit(c.args, env);
    expect(again.stderr).toMatch(/nothing to apply/);
    expect(again.code).toBe(0);
  }, 150_000);

  it("the migration Job's command refuses a store URL that is not PostgreSQL, naming the variable", async () => {
    const c = job.spec.template.spec.containers[0]!;
    const bad = await runToExit(c.args, { DATABASE_URL: "mysql://gatehouse:hunter2@db/gatehouse" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(bad.stderr).not.toContain("hunter2");
  }, 90_000);

  it("a server started from its Deployment answers the rendered liveness and readiness probes by pod address", async () => {
    const c = crmRead.spec.template.spec.containers[0]!;
    const env = containerEnv(c, {
      "gatehouse-store/database-url": store.url,
      "gatehouse-hubspot/access-token": "pat-test-0123456789abcdef",
    });
    const port = await freePort();
    expect(c.args[1]).toBe("http");
    server = await spawnHttpServer(
      join(REPO, c.args[0]!),
      {
        ...env,
        // The only changes from the pod: loopback instead of every interface, a free port, the stand-in issuer,
        // and a data directory of this test's own.
        GATEHOUSE_HOST: "127.0.0.1",
        GATEHOUSE_PORT: String(port),
        GATEHOUSE_ISSUER: issuerUrl,
        GATEHOUSE_DATA_DIR: dataDir,
      },
      // A cold start on a loaded 2-core CI machine: generous, and still a bound.
      60_000,
    );
    // A kubelet sends the pod's IP as Host; the servers refuse foreign Host headers everywhere but the probes.
    const podHost = `10.244.3.17:${env.GATEHOUSE_PORT}`;
    const live = await requestWithHost(port, c.livenessProbe.httpGet.path, podHost);
    expect(live).toMatchObject({ status: 200, json: { ok: true, server: "crm-read" } });
    const ready = await requestWithHost(port, c.readinessProbe.httpGet.path, podHost);
    expect(ready).toMatchObject({
      status: 200,
      json: { ready: true, server: "crm-read", checks: { store: true, issuer_keys: true } },
    });
    const mcp = await requestWithHost(port, "/crm-read/mcp", podHost, "POST", "{}");
    expect(mcp.status).toBe(403);
  }, 90_000);
});
