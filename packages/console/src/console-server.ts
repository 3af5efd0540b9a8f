import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { AuditLog, createTokenVerifier, KillSwitches } from "@gatehouse/governance";
import type { Store } from "@gatehouse/store";
import { serve } from "@hono/node-server";
import { type ConsoleTool, consoleApp } from "./app.ts";
import type { ConsoleConfig } from "./config.ts";
import { ConsolePolicy } from "./console-policy.ts";
import { SessionStore } from "./sessions.ts";
import { SignIn } from "./sign-in.ts";
import { TicketSendApprovals } from "./ticket-send-approvals.ts";

export interface RunningConsole {
  /** The URL people open (and the console's OAuth resource / token audience). */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the console on its host and port (loopback by default) over `store`, the same store the servers
 * use. The identity provider must know the console's URL as a resource (people sign in to it) and its
 * exchange client (approvals are decided at ticket-send as the person).
 */
export async function startConsole(opts: {
  config: ConsoleConfig;
  store: Store;
  tools: ConsoleTool[];
  killSwitchTtlMs?: number;
  env?: string;
  /** Client names by client id from the identity provider's registrations (Access view). */
  clientNames?: () => Record<string, string>;
}): Promise<RunningConsole> {
  const { config } = opts;
  const policy = new ConsolePolicy();
  // The port may be 0 (tests): listen first, then the URL (and so the OAuth redirect) is known.
  let handler: ((req: Request) => Response | Promise<Response>) | undefined;
  const server = serve({
    fetch: (req) => (handler ? handler(req) : new Response("starting", { status: 503 })),
    hostname: config.host,
    port: config.port,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = (config.publicUrl ?? `http://${config.host}:${port}`).replace(/\/$/, "");
  try {
    const signIn = await SignIn.create({ issuer: config.issuer, consoleUrl: url, client: config.client });
    const app = consoleApp({
      store: opts.store,
      audit: new AuditLog(opts.store),
      killSwitches: new KillSwitches(opts.store, 0),
      policy,
      verifier: createTokenVerifier({
        issuer: config.issuer,
        audience: url,
        jwks: { url: `${config.issuer}/jwks.json` },
        env: opts.env ?? "dev",
      }),
      signIn,
      approvals: new TicketSendApprovals({
        issuer: config.issuer,
        ticketSendUrl: config.ticketSendUrl,
        exchangeClient: config.exchangeClient,
      }),
      sessions: new SessionStore(),
      tools: opts.tools,
      cookieSecret: config.cookieSecret ?? randomBytes(32).toString("base64url"),
      killSwitchTtlMs: opts.killSwitchTtlMs ?? 1000,
      secureCookies: url.startsWith("https:"),
      clientNames: opts.clientNames,
    });
    handler = (req) => app.fetch(req);
  } catch (err) {
    await new Promise((r) => server.close(() => r(undefined)));
    throw new Error(
      `the console could not register at the identity provider ${config.issuer}: ${(err as Error).message}`,
    );
  }
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
