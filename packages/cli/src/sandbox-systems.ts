import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
// Only the types here: each stand-in (and Prisma, for the orders database) is loaded when it is needed, so
// `gatehouse stdio` for one server loads none of the others' (most of a stdio cold start otherwise).
import type { RunningHubSpot } from "@gatehouse/sandbox/hubspot";
import type { RunningJira } from "@gatehouse/sandbox/jira";

/** The company systems the servers talk to, as sandbox stand-ins on loopback. */
export interface SandboxSystems {
  /** The sandbox orders database (created and seeded only when a server needs it). */
  ordersDb: string;
  /** Absent when a real HubSpot token is configured (HUBSPOT_ACCESS_TOKEN). */
  hubspot?: { url: string; token: string };
  /** Absent when a real Jira is configured (JIRA_BASE_URL). */
  jira?: { url: string; email: string; apiToken: string };
  /** Where the data lives: servers that exchange tokens keep their client secret there. */
  dataDir: string;
  close(): Promise<void>;
}

/** Starts a stand-in on its port; with `share`, a port already taken means `gatehouse start` runs one: use it. */
async function startOrShare<T extends { url: string; close(): Promise<void> }>(
  start: (port: number) => Promise<T>,
  port: number,
  share: boolean,
): Promise<{ url: string; close(): Promise<void> }> {
  try {
    return await start(port);
  } catch (err) {
    if (!share || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    return { url: `http://127.0.0.1:${port}`, close: async () => undefined };
  }
}

/**
 * Creates the orders database on first use and starts the HubSpot and Jira stand-ins (unless real
 * systems are configured). With `share` (stdio), a stand-in already running on its usual port (from
 * `gatehouse start`) is used instead, so stdio and HTTP servers file into the same Jira.
 */
export async function startSandboxSystems(
  dataDir: string,
  opts: {
    hubspotPort: number;
    jiraPort: number;
    needOrders?: boolean;
    needHubSpot: boolean;
    needJira: boolean;
    share?: boolean;
  },
): Promise<SandboxSystems & { ordersCreated: boolean }> {
  const ordersDb = join(dataDir, "orders.db");
  // An existing database is used as it is (what ensureOrdersDatabase does too): Prisma is loaded only to
  // create and seed one.
  const orders =
    opts.needOrders === false || existsSync(resolve(ordersDb))
      ? { created: false }
      : await (await import("@gatehouse/sandbox/orders")).ensureOrdersDatabase(ordersDb);
  const share = opts.share ?? false;
  let hubspot: { url: string; close(): Promise<void> } | undefined;
  let jira: { url: string; close(): Promise<void> } | undefined;
  let hubspotToken = "";
  let jiraCredentials = { email: "", apiToken: "" };
  try {
    if (opts.needHubSpot && !process.env.HUBSPOT_ACCESS_TOKEN) {
      const { HUBSPOT_SANDBOX_TOKEN, startHubSpotSandbox } = await import("@gatehouse/sandbox/hubspot");
      hubspotToken = HUBSPOT_SANDBOX_TOKEN;
      hubspot = await startOrShare<RunningHubSpot>(
        (port) => startHubSpotSandbox({ port }),
        opts.hubspotPort,
        share,
      );
    }
    if (opts.needJira && !process.env.JIRA_BASE_URL) {
      const { JIRA_SANDBOX_API_TOKEN, JIRA_SANDBOX_EMAIL, startJiraSandbox } = await import(
        "@gatehouse/sandbox/jira"
      );
      jiraCredentials = { email: JIRA_SANDBOX_EMAIL, apiToken: JIRA_SANDBOX_API_TOKEN };
      jira = await startOrShare<RunningJira>((port) => startJiraSandbox({ port }), opts.jiraPort, share);
    }
  } catch (err) {
    await hubspot?.close();
    throw err;
  }
  return {
    ordersDb,
    dataDir,
    ordersCreated: orders.created,
    hubspot: hubspot ? { url: hubspot.url, token: hubspotToken } : undefined,
    jira: jira ? { url: jira.url, ...jiraCredentials } : undefined,
    close: async () => {
      await hubspot?.close();
      await jira?.close();
    },
  };
}

/**
 * The client secret a token-exchanging server (business) uses at the sandbox identity provider, made
 * once per data directory so `gatehouse start` and `gatehouse stdio` agree on it.
 */
export function exchangeClientSecret(dataDir: string, client: string): string {
  const dir = join(dataDir, "issuer");
  const file = join(dir, `${client}.client-secret`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, randomBytes(32).toString("hex"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(file, "utf8").trim();
}
