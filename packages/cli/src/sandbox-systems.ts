import { join } from "node:path";
import {
  ensureOrdersDatabase,
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";

/** The company systems the servers talk to, as sandbox stand-ins on loopback. */
export interface SandboxSystems {
  ordersDb: string;
  /** Absent when a real HubSpot token is configured (HUBSPOT_ACCESS_TOKEN). */
  hubspot?: { url: string; token: string };
  /** Absent when a real Jira is configured (JIRA_BASE_URL). */
  jira?: { url: string; email: string; apiToken: string };
  close(): Promise<void>;
}

/** Starts a stand-in on its port; if `share` and the port is taken, uses the one already there (from `gatehouse start`). */
async function startOrShare<T extends { url: string }>(
  start: (port: number) => Promise<T>,
  port: number,
  share: boolean,
  shared: () => T,
): Promise<{ running?: T; url: string; reused: boolean }> {
  try {
    const running = await start(port);
    return { running, url: running.url, reused: false };
  } catch (err) {
    if (!share || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    return { url: shared().url, reused: true };
  }
}

/**
 * Creates the orders database on first use and starts the HubSpot and Jira stand-ins (unless real
 * systems are configured). With `share`, a stand-in already running on its port (from `gatehouse
 * start`) is used instead, so stdio servers and HTTP servers see the same Jira and HubSpot.
 */
export async function startSandboxSystems(
  dataDir: string,
  opts: { hubspotPort: number; jiraPort: number; needHubSpot: boolean; needJira: boolean; share?: boolean },
): Promise<SandboxSystems & { ordersCreated: boolean }> {
  const ordersDb = join(dataDir, "orders.db");
  const orders = await ensureOrdersDatabase(ordersDb);
  let hubspot: RunningHubSpot | undefined;
  let jira: RunningJira | undefined;
  try {
    if (opts.needHubSpot && !process.env.HUBSPOT_ACCESS_TOKEN)
      hubspot = await startHubSpotSandbox({ port: opts.hubspotPort });
    if (opts.needJira && !process.env.JIRA_BASE_URL) jira = await startJiraSandbox({ port: opts.jiraPort });
  } catch (err) {
    await hubspot?.close();
    throw err;
  }
  return {
    ordersDb,
    ordersCreated: orders.created,
    hubspot: hubspot ? { url: hubspot.url, token: hubspot.token } : undefined,
    jira: jira ? { url: jira.url, email: jira.email, apiToken: jira.apiToken } : undefined,
    close: async () => {
      await hubspot?.close();
      await jira?.close();
    },
  };
}
