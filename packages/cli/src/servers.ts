import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ServerDefinition } from "@gatehouse/kit";
import { portOffset, SANDBOX_PORTS } from "./ports.ts";
import { exchangeClientSecret, type SandboxSystems } from "./sandbox-systems.ts";
import { UsageError } from "./usage-error.ts";

export { UsageError };

/** The repository this CLI belongs to. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Where server packages live: every folder here whose package.json has a "gatehouse" block is a server. */
export const SERVERS_DIR = join(REPO_ROOT, "servers");

/** The company systems a server may declare in its package.json "gatehouse.systems". */
export const SYSTEMS = ["orders", "hubspot", "jira", "exchange"] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** Ports the sandbox itself takes (issuer, HubSpot and Jira stand-ins): never a server's. */
export const RESERVED_PORTS: number[] = Object.values(SANDBOX_PORTS);

export interface ServerEntry {
  /** The server's name: its folder under servers/, and the `name` of its definition. */
  name: string;
  /** The package folder. */
  dir: string;
  /** The module that exports the server's definition (`src/server.ts`). */
  module: string;
  /** The process entry point `gatehouse start` launches (`src/main.ts`). */
  entry: string;
  defaultPort: number;
  /** The company systems it talks to, as declared in its package.json. */
  systems: SystemName[];
  /** Imports the server's definition (once). */
  load(): Promise<ServerDefinition>;
  /** The server's own settings for its systems: the sandbox stand-ins unless real ones are configured. */
  env(systems: SandboxSystems): Record<string, string>;
}

/** What a server's package.json declares in its "gatehouse" block. */
interface GatehouseBlock {
  defaultPort: number;
  systems: SystemName[];
}

/**
 * A server's name as the prefix of its own settings: `business` → `BUSINESS`, `warehouse-read` →
 * `WAREHOUSE_READ`, so each server's variables are its own (`BUSINESS_CLIENT_ID`, `WAREHOUSE_READ_…`).
 */
export function envPrefix(name: string): string {
  return name.toUpperCase().replace(/-/g, "_");
}

/** The settings each system gives the servers that declare it. */
const SYSTEM_ENV: Record<SystemName, (s: SandboxSystems, server: string) => Record<string, string>> = {
  orders: (s) => ({ ORDERS_DATABASE_URL: process.env.ORDERS_DATABASE_URL ?? `file:${s.ordersDb}` }),
  // A real private-app token in the environment means real HubSpot; otherwise the stand-in.
  hubspot: (s): Record<string, string> =>
    s.hubspot ? { HUBSPOT_BASE_URL: s.hubspot.url, HUBSPOT_ACCESS_TOKEN: s.hubspot.token } : {},
  // Real Jira settings in the environment win; otherwise the stand-in's.
  jira: (s): Record<string, string> =>
    s.jira ? { JIRA_BASE_URL: s.jira.url, JIRA_EMAIL: s.jira.email, JIRA_API_TOKEN: s.jira.apiToken } : {},
  // A server that acts for callers at other servers: its own client at the identity provider, named
  // after it, and its settings prefixed with its name (business: BUSINESS_CLIENT_ID, …).
  exchange: (s, server): Record<string, string> => {
    const prefix = envPrefix(server);
    return {
      ...(process.env[`${prefix}_CLIENT_SECRET`]
        ? {}
        : {
            [`${prefix}_CLIENT_ID`]: server,
            [`${prefix}_CLIENT_SECRET`]: exchangeClientSecret(s.dataDir, server),
          }),
      // Where the servers it acts at listen under `gatehouse start` (their ports move with
      // GATEHOUSE_PORT_OFFSET), unless set explicitly: BUSINESS_ORDER_LOOKUP_URL, BUSINESS_CRM_READ_URL, …
      ...Object.fromEntries(
        servers()
          .filter((o) => !o.systems.includes("exchange"))
          .map((o) => [`${prefix}_${envPrefix(o.name)}_URL`, defaultResourceUrl(o)] as const)
          .filter(([key]) => !process.env[key]),
      ),
    };
  },
};

function parseBlock(file: string, block: unknown): GatehouseBlock {
  const where = relative(REPO_ROOT, file) || file;
  if (typeof block !== "object" || block === null || Array.isArray(block))
    throw new UsageError(
      `${where}: "gatehouse" must be an object like { "defaultPort": 7105, "systems": [] }`,
    );
  const { defaultPort, systems } = block as { defaultPort?: unknown; systems?: unknown };
  if (
    typeof defaultPort !== "number" ||
    !Number.isInteger(defaultPort) ||
    defaultPort < 1024 ||
    defaultPort > 65535
  )
    throw new UsageError(`${where}: "gatehouse.defaultPort" must be a whole number between 1024 and 65535`);
  if (RESERVED_PORTS.includes(defaultPort))
    throw new UsageError(
      `${where}: port ${defaultPort} belongs to the sandbox (${RESERVED_PORTS.join(", ")}); pick another`,
    );
  if (!Array.isArray(systems) || systems.some((s) => !SYSTEMS.includes(s as SystemName)))
    throw new UsageError(
      `${where}: "gatehouse.systems" must be a list of ${SYSTEMS.map((s) => `"${s}"`).join(", ")}`,
    );
  return { defaultPort, systems: [...new Set(systems as SystemName[])] };
}

/** The single server definition a module exports: the export whose value has a `name` and `tools`. */
export function pickDefinition(moduleFile: string, exports: Record<string, unknown>): ServerDefinition {
  const found = [
    ...new Set(
      Object.values(exports).filter(
        (v): v is ServerDefinition =>
          typeof v === "object" &&
          v !== null &&
          typeof (v as { name?: unknown }).name === "string" &&
          Array.isArray((v as { tools?: unknown }).tools),
      ),
    ),
  ];
  const where = relative(REPO_ROOT, moduleFile) || moduleFile;
  if (found.length === 0)
    throw new UsageError(`${where} exports no server definition: export the result of defineServer({ … })`);
  if (found.length > 1)
    throw new UsageError(
      `${where} exports ${found.length} server definitions (${found.map((d) => d.name).join(", ")}); export exactly one`,
    );
  return found[0]!;
}

function serverEntry(dir: string, block: GatehouseBlock): ServerEntry {
  const name = dir.split(/[\\/]/).pop()!;
  const module = join(dir, "src", "server.ts");
  const entry = join(dir, "src", "main.ts");
  for (const f of [module, entry])
    if (!existsSync(f))
      throw new UsageError(
        `server ${name}: ${relative(REPO_ROOT, f) || f} is missing (every server has one)`,
      );
  let loaded: Promise<ServerDefinition> | undefined;
  const load = async (): Promise<ServerDefinition> => {
    const exports = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
    const def = pickDefinition(module, exports);
    if (def.name !== name)
      throw new UsageError(
        `${relative(REPO_ROOT, module) || module} defines server "${def.name}", but its folder is "${name}": they must match`,
      );
    if (def.defaultPort !== block.defaultPort)
      throw new UsageError(
        `server ${name}: src/server.ts says defaultPort ${def.defaultPort}, package.json "gatehouse" says ${block.defaultPort}; take it from package.json (defaultPort: pkg.gatehouse.defaultPort)`,
      );
    return def;
  };
  return {
    name,
    dir,
    module,
    entry,
    defaultPort: block.defaultPort,
    systems: block.systems,
    load: () => {
      loaded ??= load();
      return loaded;
    },
    env: (s) => Object.assign({}, ...block.systems.map((system) => SYSTEM_ENV[system](s, name))),
  };
}

/**
 * Every server package under `serversDir`: the folders whose package.json has a "gatehouse" block,
 * ordered by port. Nothing is imported until a command needs a server's definition.
 */
export function discoverServers(serversDir = SERVERS_DIR): ServerEntry[] {
  if (!existsSync(serversDir)) return [];
  const found: ServerEntry[] = [];
  for (const name of readdirSync(serversDir).sort()) {
    const dir = join(serversDir, name);
    const pkgFile = join(dir, "package.json");
    if (!statSync(dir).isDirectory() || !existsSync(pkgFile)) continue;
    let pkg: { gatehouse?: unknown };
    try {
      pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { gatehouse?: unknown };
    } catch (e) {
      throw new UsageError(
        `${relative(REPO_ROOT, pkgFile) || pkgFile} is not valid JSON: ${(e as Error).message}`,
      );
    }
    if (pkg.gatehouse === undefined) continue;
    if (!/^[a-z][a-z0-9-]{1,40}$/.test(name))
      throw new UsageError(`server folder "${name}" must be a kebab-case server name`);
    found.push(serverEntry(dir, parseBlock(pkgFile, pkg.gatehouse)));
  }
  found.sort((a, b) => a.defaultPort - b.defaultPort || a.name.localeCompare(b.name));
  for (let i = 1; i < found.length; i++)
    if (found[i]!.defaultPort === found[i - 1]!.defaultPort)
      throw new UsageError(
        `servers ${found[i - 1]!.name} and ${found[i]!.name} both declare port ${found[i]!.defaultPort}; give each its own`,
      );
  return found;
}

let cached: ServerEntry[] | undefined;

/** The repository's servers (discovered once per process). */
export function servers(): ServerEntry[] {
  cached ??= discoverServers();
  return cached;
}

/** Which sandbox systems a server needs. */
export function needs(entry: ServerEntry): { needOrders: boolean; needHubSpot: boolean; needJira: boolean } {
  return {
    needOrders: entry.systems.includes("orders"),
    needHubSpot: entry.systems.includes("hubspot"),
    needJira: entry.systems.includes("jira"),
  };
}

export function findServer(name: string): ServerEntry {
  const s = servers().find((x) => x.name === name);
  if (!s)
    throw new UsageError(
      `unknown server "${name}"; known servers: ${
        servers()
          .map((x) => x.name)
          .join(", ") || '(none: no servers/*/package.json has a "gatehouse" block)'
      }`,
    );
  return s;
}

/** The resource URL a server has when started by `gatehouse start` (and the audience of its tokens). */
export function defaultResourceUrl(s: Pick<ServerEntry, "defaultPort">): string {
  return `http://127.0.0.1:${serverPort(s)}/mcp`;
}

/** The port `gatehouse start` gives a server: its declared default, shifted by GATEHOUSE_PORT_OFFSET. */
export function serverPort(s: Pick<ServerEntry, "defaultPort">): number {
  return s.defaultPort + portOffset();
}
