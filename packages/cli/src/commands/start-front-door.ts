import { join } from "node:path";
import { loadKitConfig } from "@gatehouse/kit";
import {
  normalizePublicBase,
  publicResourceUrl,
  type RunningFrontDoor,
  startFrontDoor,
} from "../front-door/index.ts";
import { portOffset } from "../ports.ts";
import { envPrefix, type ServerEntry, serverPort } from "../servers.ts";
import { UsageError } from "../usage-error.ts";

/** The front door's local port when the public URL is not itself a loopback address: 7180 (+ offset). */
export const FRONT_DOOR_PORT = 7180;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * What `gatehouse start --public-url <base>` changes: every server's resource URL (GATEHOUSE_PUBLIC_URL,
 * its metadata and its tokens' audience) is `<base>/<server>/mcp`; the sandbox issuer's URL is `<base>`
 * (routed through the door at the root); servers still fetch the issuer's keys and business still
 * exchanges tokens on loopback, never through the tunnel.
 */
export interface FrontDoorPlan {
  publicBase: string;
  issuer: string;
  listenHost: string;
  listenPort: number;
  resourceUrl(s: Pick<ServerEntry, "name">): string;
  /** Added to each server's environment (after its own systems' settings, so these win). */
  serverEnv(s: ServerEntry, others: ServerEntry[], issuerPort: number): Record<string, string>;
  start(all: ServerEntry[], issuerPort: number, dataDir: string): Promise<RunningFrontDoor>;
}

export function frontDoorPlan(rawBase: string, env: NodeJS.ProcessEnv = process.env): FrontDoorPlan {
  let publicBase: string;
  try {
    publicBase = normalizePublicBase(rawBase);
  } catch (e) {
    throw new UsageError(`--public-url: ${(e as Error).message}`);
  }
  const u = new URL(publicBase);
  // A loopback public URL (no tunnel, e.g. http://127.0.0.1:7180) is the door itself.
  const selfServed = u.protocol === "http:" && LOOPBACK.has(u.hostname) && u.port !== "";
  const listenHost = selfServed
    ? u.hostname.replace(/^\[|\]$/g, "")
    : env.GATEHOUSE_FRONT_DOOR_HOST || "127.0.0.1";
  const listenPort = selfServed
    ? Number(u.port)
    : Number(env.GATEHOUSE_FRONT_DOOR_PORT || FRONT_DOOR_PORT + portOffset(env));
  if (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65535)
    throw new UsageError(
      `GATEHOUSE_FRONT_DOOR_PORT must be a port number, not "${env.GATEHOUSE_FRONT_DOOR_PORT}"`,
    );
  const resourceUrl = (s: Pick<ServerEntry, "name">) => publicResourceUrl(publicBase, s.name);
  return {
    publicBase,
    issuer: publicBase,
    listenHost,
    listenPort,
    resourceUrl,
    serverEnv(s, others, issuerPort) {
      const local = `http://127.0.0.1:${issuerPort}`;
      return {
        GATEHOUSE_PUBLIC_URL: resourceUrl(s),
        GATEHOUSE_ISSUER: publicBase,
        // Keys and exchanges stay on this machine: the issuer's public URL is only for people and clients.
        GATEHOUSE_JWKS_URL: `${local}/jwks.json`,
        ...(s.systems.includes("exchange")
          ? {
              [`${envPrefix(s.name)}_TOKEN_ENDPOINT`]: `${local}/token`,
              // The audiences it exchanges for are the other servers' public URLs, and it calls them there.
              ...Object.fromEntries(
                others
                  .filter((o) => o !== s && !o.systems.includes("exchange"))
                  .map((o) => [`${envPrefix(s.name)}_${envPrefix(o.name)}_URL`, resourceUrl(o)]),
              ),
            }
          : {}),
      };
    },
    start(all, issuerPort, dataDir) {
      // Each server's own limits, read the way the servers read them: the door refuses nothing a server
      // would accept, and cuts slow requests a little before a server's own timeout would.
      const limits = loadKitConfig(0, env);
      return startFrontDoor({
        dir: join(dataDir, "front-door"),
        listenHost,
        listenPort,
        publicBase,
        routes: all.map((s) => ({ name: s.name, port: serverPort(s) })),
        issuerPort,
        maxBodyBytes: limits.maxBodyBytes,
        requestTimeoutMs: Number(env.GATEHOUSE_FRONT_DOOR_REQUEST_TIMEOUT_MS || 10_000),
        idleTimeoutMs: limits.requestTimeoutMs + 5_000,
      });
    },
  };
}
