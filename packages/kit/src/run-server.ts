import { existsSync, readFileSync } from "node:fs";
import { createTokenVerifier, type Identity } from "@gatehouse/governance";
import type { JSONWebKeySet } from "jose";
import { approvalRoutes } from "./approval-routes.ts";
import { type KitConfig, loadKitConfig } from "./config.ts";
import type { ServerDefinition, Services } from "./define-server.ts";
import { createGovernance, type Governance, StartupError } from "./governance-context.ts";
import { IDENTITY_KEY, type RunningHttp, startHttp } from "./http-transport.ts";
import { createLogger } from "./logger.ts";
import { createMcpServerFactory, type IdentityResolver } from "./mcp-server.ts";
import { announceServing } from "./spawn-server.ts";
import { startStdio, stdioIdentity } from "./stdio-transport.ts";

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
  const gov = await createGovernance(config, [def.policyDir]);
  let services: S;
  try {
    services = await def.services({ config, log, env, store: gov.store });
  } catch (err) {
    await gov.store.close();
    throw err;
  }
  const verifierFor = verifierFactory(config);
  const shutdown = async (http?: RunningHttp) => {
    await http?.close();
    await services.close?.();
    await gov.store.close();
  };

  const factoryWith = (resolveIdentity: IdentityResolver, stdioToken?: string) =>
    createMcpServerFactory({
      def,
      gov,
      services,
      log,
      requestTimeoutMs: config.requestTimeoutMs,
      resolveIdentity,
      stdioToken,
    });

  if (transport === "stdio") {
    const resolve = stdioIdentity(config, () =>
      verifierFor(config.publicUrl ?? `http://127.0.0.1:${config.port}/mcp`),
    );
    const handle = startStdio(factoryWith(() => resolve(), config.token));
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

  const factory = factoryWith(async (ctx) => {
    const identity = ctx.http?.authInfo?.extra?.[IDENTITY_KEY] as Identity | undefined;
    // The HTTP layer verified the token before the MCP handler ran; no identity here is a wiring bug.
    if (!identity) throw new Error("request reached the MCP handler without a verified identity");
    return identity;
  });
  const http = await startHttp({
    def: def as unknown as ServerDefinition,
    gov,
    log,
    factory,
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
      authRefusalIntervalMs: config.authRefusalIntervalMs,
    },
  }).catch(async (err: unknown) => {
    await shutdown();
    throw listenProblem(err, config.host, config.port) ?? err;
  });
  log.info({ url: http.url, store: gov.store.dialect }, "serving on http");
  announceServing(http.url);
  return { url: http.url, config, gov, close: () => shutdown(http) };
}
