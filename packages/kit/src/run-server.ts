import { existsSync, readFileSync } from "node:fs";
import { createTokenVerifier } from "@gatehouse/governance";
import type { JSONWebKeySet } from "jose";
import { approvalRoutes } from "./approval-routes.ts";
import { AuthRefusals } from "./auth-refusals.ts";
import { type KitConfig, loadKitConfig } from "./config.ts";
import type { ServerDefinition, Services } from "./define-server.ts";
import { createGovernance, type Governance, StartupError } from "./governance-context.ts";
import { type RunningHttp, startHttp } from "./http/http-transport.ts";
import { stdioIdentity } from "./identity-resolvers.ts";
import { createLogger } from "./logger.ts";
import { createMcpServerFactory, type IdentityResolver } from "./mcp-server.ts";
import { governanceReadiness } from "./readiness.ts";
import { announceServing } from "./spawn-server.ts";
import { startStdio } from "./stdio-transport.ts";
import { startTelemetry } from "./telemetry/setup.ts";

export interface RunningServer {
  url?: string;
  config: KitConfig;
  gov: Governance;
  close(): Promise<void>;
}

/** Builds the verifier for an audience: the issuer's JWKS over HTTP, or its key file for offline stdio. */
function verifierFactory(config: KitConfig) {
  return (audience: string) => {
    let jwks: { url: string } | { keys: JSONWebKeySet } = { url: config.jwksUrl };
    if (config.jwksFile) {
      if (!existsSync(config.jwksFile))
        throw new Error(`GATEHOUSE_JWKS_FILE ${config.jwksFile} does not exist`);
      jwks = { keys: JSON.parse(readFileSync(config.jwksFile, "utf8")) as JSONWebKeySet };
    }
    return createTokenVerifier({ issuer: config.issuer, audience, env: config.env, jwks });
  };
}

/** Why the HTTP port could not be had, and what to do, when that is why listening failed. */
function listenProblem(err: unknown, host: string, port: number): StartupError | undefined {
  const e = err as { code?: unknown; syscall?: unknown } | undefined;
  if (e?.syscall !== "listen") return undefined;
  if (e.code === "EADDRINUSE")
    return new StartupError(`port ${port} on ${host} is in use; stop what holds it or set GATEHOUSE_PORT`);
  if (e.code === "EACCES")
    return new StartupError(
      `port ${port} on ${host} needs privileges this process lacks; set GATEHOUSE_PORT to a port above 1023`,
    );
  if (e.code === "EADDRNOTAVAIL")
    return new StartupError(`${host} is not an address of this machine; check GATEHOUSE_HOST`);
  return undefined;
}

/** Starts a server on the chosen transport, with the whole governance pipeline in front of its tools. */
export async function runServer<S extends Services>(
  def: ServerDefinition<S>,
  transport: "http" | "stdio",
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningServer> {
  const config = loadKitConfig(def.defaultPort, env);
  const log = createLogger(def.name, config.logLevel);
  const gov = await createGovernance(config, [def.policyDir], { server: def.name });
  let services: S;
  try {
    services = await def.services({ config, log, env, store: gov.store });
  } catch (err) {
    await gov.limits.close();
    await gov.store.close();
    throw err;
  }
  // Only when OTEL_* variables ask for export is the OpenTelemetry SDK loaded at all.
  const telemetry = await startTelemetry(def.name, env);
  const verifierFor = verifierFactory(config);
  const refusals = new AuthRefusals({
    server: def.name,
    gov,
    log,
    intervalMs: config.authRefusalIntervalMs,
  });
  const shutdown = async (http?: RunningHttp) => {
    await http?.close();
    // The refusal counts held back this interval, written before the store closes.
    await refusals.close();
    await services.close?.();
    await gov.limits.close();
    await gov.store.close();
    // Last, so the spans and metrics of the final calls are flushed.
    await telemetry.shutdown();
  };

  const factoryWith = (resolveIdentity: IdentityResolver, stdioToken?: string) =>
    createMcpServerFactory({
      def,
      gov,
      services,
      log,
      requestTimeoutMs: config.requestTimeoutMs,
      resolveIdentity,
      refusals,
      stdioToken,
    });

  if (transport === "stdio") {
    const resolve = stdioIdentity(config, () =>
      verifierFor(config.publicUrl ?? `http://127.0.0.1:${config.port}/mcp`),
    );
    const handle = startStdio(factoryWith(resolve, config.token));
    log.info({ store: gov.store.dialect }, "serving on stdio");
    return {
      config,
      gov,
      close: async () => {
        await handle.close();
        await shutdown();
      },
    };
  }

  const http = await startHttp({
    def: def as unknown as ServerDefinition,
    log,
    factoryFor: (resolveIdentity) => factoryWith(resolveIdentity),
    refusals,
    readiness: governanceReadiness(gov),
    verifierFor,
    approvalRoutes: def.approvals ? approvalRoutes(def.name, def.approvals, services, gov) : undefined,
    http: {
      host: config.host,
      port: config.port,
      resourceUrl: config.publicUrl,
      issuer: config.issuer,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      maxBodyBytes: config.maxBodyBytes,
      requestTimeoutMs: config.requestTimeoutMs,
    },
  }).catch(async (err: unknown) => {
    await shutdown();
    throw listenProblem(err, config.host, config.port) ?? err;
  });
  log.info({ url: http.url, store: gov.store.dialect }, "serving on http");
  announceServing(http.url);
  return { url: http.url, config, gov, close: () => shutdown(http) };
}
