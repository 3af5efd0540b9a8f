import { mkdirSync } from "node:fs";
import { type ServerDefinition, type SpawnedServer, serverScopes, spawnHttpServer } from "@gatehouse/kit";
import { describeUrl } from "@gatehouse/store";
import { type CliContext, err, out, withStore } from "../context.ts";
import type { RunningFrontDoor } from "../front-door/index.ts";
import { startIssuerWithRevocations } from "../issuer-revocations.ts";
import { portOffset, recordRunningSandbox, sandboxPort } from "../ports.ts";
import { exchangeClientSecret, startSandboxSystems } from "../sandbox-systems.ts";
import {
  defaultResourceUrl as loopbackResourceUrl,
  type ServerEntry,
  type SystemName,
  serverPort,
  servers,
} from "../servers.ts";
import { registerConsoleAtIssuer, sandboxConsoleUrl, startSandboxConsole } from "../start-console.ts";
import { UsageError } from "../usage-error.ts";
import { frontDoorPlan } from "./start-front-door.ts";

const step = (text: string) => err(`• ${text}`);

/** Explains the usual start-up failures in terms of what to do next. */
function explain(name: string, port: number, error: Error): string {
  const m = error.message;
  if (m.includes("EADDRINUSE"))
    return `${name}: port ${port} is already in use. Stop the other process (is another \`gatehouse start\` running?) or free the port.`;
  if (m.includes("ECONNREFUSED") && m.includes("5432"))
    return `${name}: PostgreSQL is unreachable at DATABASE_URL. Start it, or unset DATABASE_URL to use the embedded store.`;
  if (m.includes("PolicyLoadError") || m.includes(".cedar"))
    return `${name}: a policy file is invalid:\n${m}`;
  return `${name} failed to start:\n${m}`;
}

/** How long each server may take to start (GATEHOUSE_START_TIMEOUT_MS, 30 s): a loaded machine may need longer. */
function serverStartTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.GATEHOUSE_START_TIMEOUT_MS;
  if (!raw) return 30_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1000)
    throw new UsageError(
      `GATEHOUSE_START_TIMEOUT_MS must be a whole number of milliseconds, at least 1000 (got "${raw}")`,
    );
  return ms;
}

/** `gatehouse start`: the sandbox issuer and every server on loopback HTTP, on the embedded store by default. */
export async function startCommand(ctx: CliContext, opts: { publicUrl?: string } = {}): Promise<number> {
  // `--public-url` (or GATEHOUSE_PUBLIC_BASE_URL): everything behind one front door (HAProxy) for a tunnel;
  // every resource URL, and so every audience, is <public URL>/<server>/mcp, and the issuer is <public URL>.
  const publicUrl = opts.publicUrl ?? (process.env.GATEHOUSE_PUBLIC_BASE_URL || undefined);
  const door = publicUrl ? frontDoorPlan(publicUrl) : undefined;
  const startTimeoutMs = serverStartTimeoutMs();
  const defaultResourceUrl = (s: ServerEntry) => door?.resourceUrl(s) ?? loopbackResourceUrl(s);
  mkdirSync(ctx.dataDir, { recursive: true });
  step(
    `store: ${ctx.databaseUrl ? `PostgreSQL ${describeUrl(ctx.databaseUrl)}` : `embedded SQLite in ${ctx.dataDir}`}`,
  );
  const all = servers();
  const declared = (system: SystemName) => all.some((s) => s.systems.includes(system));
  step(
    "sandbox systems: orders database (created and seeded by Prisma on first start), HubSpot and Jira stand-ins",
  );
  // The store, the servers' definitions and the sandbox systems do not depend on one another: all at once.
  const [opened, loaded, started] = await Promise.allSettled([
    withStore(ctx, async () => undefined),
    // Each definition must match its package.json "gatehouse" block (name and port): fail here, clearly.
    Promise.all(all.map((s) => s.load())),
    startSandboxSystems(ctx.dataDir, {
      hubspotPort: sandboxPort("hubspot"),
      jiraPort: sandboxPort("jira"),
      needOrders: declared("orders"),
      needHubSpot: declared("hubspot"),
      needJira: declared("jira"),
    }),
  ]);
  if (opened.status === "rejected" || loaded.status === "rejected" || started.status === "rejected") {
    err(
      opened.status === "rejected"
        ? `the store could not be opened: ${(opened.reason as Error).message}`
        : loaded.status === "rejected"
          ? (loaded.reason as Error).message
          : explain(
              "sandbox systems",
              sandboxPort("hubspot"),
              (started as PromiseRejectedResult).reason as Error,
            ),
    );
    if (started.status === "fulfilled") await started.value.close();
    return 1;
  }
  const definitions: ServerDefinition[] = loaded.value;
  const systems = started.value;
  if (declared("orders")) step(`  orders: ${systems.ordersCreated ? "seeded" : "using"} ${systems.ordersDb}`);
  if (declared("hubspot"))
    step(
      `  HubSpot: ${systems.hubspot ? `stand-in on ${systems.hubspot.url}` : "real HubSpot (HUBSPOT_ACCESS_TOKEN is set)"}`,
    );
  if (declared("jira"))
    step(`  Jira: ${systems.jira ? `stand-in on ${systems.jira.url}` : "real Jira (JIRA_BASE_URL is set)"}`);

  const issuerPort = Number(new URL(ctx.issuer).port || sandboxPort("issuer"));
  step(`sandbox identity provider on ${door?.issuer ?? ctx.issuer}`);
  // Servers fetch the issuer's keys on their first call, not at start: the issuer (in this process) and
  // the servers (each its own process) start at the same time, the servers all at once.
  const issuerStarted = (async () => {
    // Servers that act for callers (business) may exchange tokens for every other server's audience,
    // each as its own client, named after it.
    const exchangeClients = Object.fromEntries(
      all
        .filter((s) => s.systems.includes("exchange"))
        .map((s) => [
          s.name,
          {
            secret: exchangeClientSecret(ctx.dataDir, s.name),
            resource: defaultResourceUrl(s),
            targets: all.filter((o) => o !== s).map(defaultResourceUrl),
          },
        ]),
    );
    // It enforces the revocation list: revoked people and clients get no new tokens.
    return startIssuerWithRevocations(ctx, {
      dataDir: ctx.dataDir,
      port: issuerPort,
      publicUrl: door?.issuer ?? ctx.issuer,
      exchangeClients,
      // People sign in (authorization code + PKCE) to MCP clients for exactly these resources.
      // A server's approval scope too: people approve its sends at its /approvals endpoint.
      resources: Object.fromEntries(
        all.map((s, i) => {
          const d = definitions[i]!;
          return [
            defaultResourceUrl(s),
            { scopes: [...serverScopes(d), ...(d.approvals ? [d.approvals.scope] : [])] },
          ];
        }),
      ),
    });
  })();
  for (const s of all) step(`${s.name} on ${defaultResourceUrl(s)}`);
  const spawned = await Promise.allSettled(
    all.map((s) =>
      spawnHttpServer(
        s.entry,
        {
          GATEHOUSE_PORT: String(serverPort(s)),
          // What the issuer announces as its URL (its public URL).
          GATEHOUSE_ISSUER: ctx.issuer,
          GATEHOUSE_DATA_DIR: ctx.dataDir,
          ...s.env(systems),
          ...door?.serverEnv(s, all, issuerPort),
          // A send waiting for approval names the console page where a person approves it.
          GATEHOUSE_CONSOLE_URL: sandboxConsoleUrl(),
          LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
        },
        startTimeoutMs,
      ),
    ),
  );
  const [issuerOutcome] = await Promise.allSettled([issuerStarted]);
  const running: Array<{ name: string; server: SpawnedServer }> = [];
  spawned.forEach((r, i) => {
    if (r.status === "fulfilled") running.push({ name: all[i]!.name, server: r.value });
  });
  const failures: string[] = [];
  if (issuerOutcome.status === "rejected")
    failures.push(explain("identity provider", issuerPort, issuerOutcome.reason as Error));
  spawned.forEach((r, i) => {
    if (r.status === "rejected") failures.push(explain(all[i]!.name, serverPort(all[i]!), r.reason as Error));
  });
  if (issuerOutcome.status === "rejected" || failures.length > 0) {
    for (const f of failures) err(f);
    await Promise.all(running.map((r) => r.server.stop()));
    if (issuerOutcome.status === "fulfilled") await issuerOutcome.value.close();
    await systems.close();
    return 1;
  }
  const issuer = issuerOutcome.value;
  const ticketSend = all.find((s) => s.name === "ticket-send");
  const consoleUrl = sandboxConsoleUrl();
  const consoleSecret = ticketSend
    ? registerConsoleAtIssuer(issuer, ctx, consoleUrl, defaultResourceUrl(ticketSend))
    : undefined;
  let frontDoor: RunningFrontDoor | undefined;
  if (door) {
    step(`front door (HAProxy) on http://${door.listenHost}:${door.listenPort} for ${door.publicBase}`);
    try {
      frontDoor = await door.start(all, issuerPort, ctx.dataDir);
    } catch (e) {
      err(`front door: ${(e as Error).message}`);
      await Promise.all(running.map((r) => r.server.stop()));
      await issuer.close();
      await systems.close();
      return 1;
    }
  }

  // The operator console, on loopback beside the servers (it needs ticket-send to decide approvals).
  let operatorConsole: { url: string; close(): Promise<void> } | undefined;
  if (ticketSend && consoleSecret) {
    step(`operator console on ${consoleUrl}`);
    try {
      operatorConsole = await startSandboxConsole(ctx, {
        issuer: issuer.url,
        ticketSendUrl: defaultResourceUrl(ticketSend),
        exchangeSecret: consoleSecret,
        definitions,
      });
    } catch (e) {
      err(explain("operator console", Number(new URL(consoleUrl).port), e as Error));
      await frontDoor?.stop();
      await Promise.all(running.map((r) => r.server.stop()));
      await issuer.close();
      await systems.close();
      return 1;
    }
  }

  let forget: () => void = () => undefined;
  const stopAll = async () => {
    forget();
    await operatorConsole?.close();
    await frontDoor?.stop();
    await Promise.all(running.map((r) => r.server.stop()));
    await issuer.close();
    await systems.close();
  };
  for (const r of running) {
    r.server.process.once("exit", (code) => {
      err(`${r.name} stopped unexpectedly (exit ${code}); stopping everything`);
      void stopAll().then(() => process.exit(1));
    });
  }

  const doorExited = (code: number | null) => {
    err(`the front door (HAProxy) stopped unexpectedly (exit ${code}); stopping everything`);
    void stopAll().then(() => process.exit(1));
  };
  frontDoor?.process.once("exit", doorExited);

  // Other shells' commands (and stdio servers launched by MCP clients) find these ports through it.
  forget = recordRunningSandbox(ctx.dataDir, portOffset());
  out("");
  out("Gatehouse is running (Ctrl-C stops it):");
  out("");
  out(`  ${"server".padEnd(18)} url`);
  out(`  ${"issuer".padEnd(18)} ${issuer.url}`);
  if (frontDoor) out(`  ${"front door".padEnd(18)} ${frontDoor.localUrl} (point the tunnel here)`);
  if (systems.hubspot) out(`  ${"hubspot (sandbox)".padEnd(18)} ${systems.hubspot.url}`);
  if (systems.jira) out(`  ${"jira (sandbox)".padEnd(18)} ${systems.jira.url}`);
  for (const r of running) out(`  ${r.name.padEnd(18)} ${r.server.url}`);
  if (operatorConsole) out(`  ${"console".padEnd(18)} ${operatorConsole.url}`);
  out("");
  out("Sign in:       point an OAuth-capable MCP client (MCP Inspector) at a server URL above;");
  out("               the issuer's sign-in page lists the sandbox people (alice, bob, carol, dave, erin).");
  out(
    door
      ? `Get a token:   GATEHOUSE_ISSUER=${door.issuer} pnpm --silent gatehouse token --user alice --audience ${door.resourceUrl({ name: "order-lookup" })}`
      : "Get a token:   pnpm --silent gatehouse token --user alice --server order-lookup",
  );
  out("Watch audit:   pnpm gatehouse audit tail --follow");
  if (operatorConsole)
    out(`Console:       ${operatorConsole.url} (sign in as carol to approve, dave to see everything)`);
  out("");

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  for (const r of running) r.server.process.removeAllListeners("exit");
  frontDoor?.process.removeListener("exit", doorExited);
  await stopAll();
  return 0;
}
