import type { Store } from "@gatehouse/store";
import type { Logger } from "pino";
import type { z } from "zod";
import type { ApprovalSource } from "./approval-routes.ts";
import type { KitConfig } from "./config.ts";
import type { ToolDefinition } from "./define-tool.ts";

export interface ServicesContext {
  config: KitConfig;
  log: Logger;
  /** The environment the server was started with (not always process.env: stdio runs in the CLI's process). */
  env: NodeJS.ProcessEnv;
  /** Gatehouse's own store, for servers that keep state there (ticket drafts). */
  store: Store;
}

/** Domain services a server's tools use (database handles, API clients); closed on shutdown. */
export interface Services {
  close?(): Promise<void>;
}

export interface ServerDefinition<S extends Services = Services> {
  /** Package-style name, e.g. `order-lookup`: used in audit events, policies and kill switches. */
  name: string;
  version: string;
  title: string;
  instructions?: string;
  /**
   * The loopback port `gatehouse start` gives this server. Declared once, in the package.json "gatehouse"
   * block (the CLI reads it there without importing the server); the definition passes that value on.
   */
  defaultPort: number;
  /** This server's Cedar policy folder (the kit adds the shared base policies). */
  policyDir: string;
  tools: Array<ToolDefinition<S, z.ZodObject, z.ZodObject>>;
  /**
   * The server calls other Gatehouse servers on the caller's behalf: handlers get the caller's token
   * (ctx.callerToken) to exchange for downstream tokens (RFC 8693).
   */
  tokenExchange?: boolean;
  /** Servers with send tools: where people review and approve what will be sent (HTTP only). */
  approvals?: ApprovalSource<S>;
  /** Builds the domain services once per process. */
  services(ctx: ServicesContext): Promise<S>;
}

/** Declares a server. It holds tools and services only; transports, auth, policy and audit come from the kit. */
export function defineServer<S extends Services>(def: ServerDefinition<S>): ServerDefinition<S> {
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(def.name))
    throw new Error(`server name "${def.name}" must be kebab-case`);
  const seen = new Set<string>();
  for (const t of def.tools) {
    if (seen.has(t.name)) throw new Error(`server ${def.name}: tool ${t.name} is defined twice`);
    seen.add(t.name);
  }
  if (def.tools.some((t) => t.kind === "send") && !def.approvals) {
    throw new Error(
      `server ${def.name}: it has send tools, so it must declare approvals (how people approve what it sends)`,
    );
  }
  return def;
}

/** Every scope a server's tools ask for: what its RFC 9728 metadata lists and what tokens for it carry. */
export function serverScopes(def: Pick<ServerDefinition, "tools">): string[] {
  return [...new Set(def.tools.flatMap((t) => [t.scope, ...(t.piiScope ? [t.piiScope] : [])]))].sort();
}
