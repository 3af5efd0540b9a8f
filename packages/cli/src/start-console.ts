import type { ServerDefinition } from "@gatehouse/kit";
import type { RunningIssuer } from "@gatehouse/sandbox/issuer";
import { openStore } from "@gatehouse/store";
import { registeredClientNames } from "./commands/revoke.ts";
import type { CliContext } from "./context.ts";
import { portOffset } from "./ports.ts";
import { exchangeClientSecret } from "./sandbox-systems.ts";

/** The console's loopback port in the sandbox (7130, shifted like every sandbox port). */
export const consolePort = () => 7130 + portOffset();

/** Where `gatehouse start` serves the console; the URL is also its OAuth resource (the token audience). */
export const sandboxConsoleUrl = () => `http://127.0.0.1:${consolePort()}`;

/**
 * Lets people sign in to the console at the sandbox issuer (its URL as a resource, scope console:use) and
 * lets the console act at ticket-send as the signed-in person (a token-exchange client named "console").
 */
export function registerConsoleAtIssuer(
  issuer: RunningIssuer,
  ctx: CliContext,
  consoleUrl: string,
  ticketSendUrl: string,
): string {
  const secret = exchangeClientSecret(ctx.dataDir, "console");
  issuer.registerResource(consoleUrl, { scopes: ["console:use"] });
  issuer.registerExchangeClient("console", { secret, resource: consoleUrl, targets: [ticketSendUrl] });
  return secret;
}

/** Starts the console in this process on its own connection to the store; returns its URL and how to stop it. */
export async function startSandboxConsole(
  ctx: CliContext,
  opts: { issuer: string; ticketSendUrl: string; exchangeSecret: string; definitions: ServerDefinition[] },
) {
  const { startConsole } = await import("@gatehouse/console");
  const store = openStore({ databaseUrl: ctx.databaseUrl, sqlitePath: `${ctx.dataDir}/gatehouse.db` });
  try {
    const running = await startConsole({
      config: {
        host: "127.0.0.1",
        port: consolePort(),
        issuer: opts.issuer,
        exchangeClient: { id: "console", secret: opts.exchangeSecret },
        ticketSendUrl: opts.ticketSendUrl,
      },
      store,
      clientNames: () => registeredClientNames(ctx.dataDir),
      tools: opts.definitions.flatMap((d) =>
        d.tools.map((t) => ({ server: d.name, tool: t.name, kind: t.kind })),
      ),
    });
    return {
      url: running.url,
      close: async () => {
        await running.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
