import type { ServerResponse } from "node:http";
import type { ReadinessCheck } from "../readiness.ts";
import { sendJson } from "./responses.ts";

const CHECK_TIMEOUT_MS = 2_000;

async function passes(c: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([c.check().then((v) => v !== false), timeout])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz` says the process answers; `/readyz` says it can serve a call now (every check passes within
 * a bound), so a proxy or Kubernetes sends it no traffic until then. The body names failing checks only,
 * never why (no addresses or credentials).
 */
export async function serveHealth(
  res: ServerResponse,
  path: "/healthz" | "/readyz",
  server: { name: string; version: string },
  checks: ReadinessCheck[],
): Promise<void> {
  if (path === "/healthz")
    return sendJson(res, 200, { ok: true, server: server.name, version: server.version });
  const results = await Promise.all(checks.map(async (c) => [c.name, await passes(c)] as const));
  const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
  sendJson(
    res,
    failing.length ? 503 : 200,
    { ready: failing.length === 0, server: server.name, checks: Object.fromEntries(results) },
    { "cache-control": "no-store" },
  );
}
