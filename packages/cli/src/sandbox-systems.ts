import { join } from "node:path";
import { ensureOrdersDatabase, type RunningHubSpot, startHubSpotSandbox } from "@gatehouse/sandbox";

/** The company systems the servers talk to, as sandbox stand-ins on loopback. */
export interface SandboxSystems {
  ordersDb: string;
  /** Absent when a real HubSpot token is configured (HUBSPOT_ACCESS_TOKEN). */
  hubspot?: { url: string; token: string };
  close(): Promise<void>;
}

/**
 * Creates the orders database on first use and starts the HubSpot stand-in (unless real HubSpot is
 * configured). `hubspotPort` 0 picks a free port, as `gatehouse stdio` does for its private copy.
 */
export async function startSandboxSystems(
  dataDir: string,
  opts: { hubspotPort: number; needHubSpot: boolean },
): Promise<SandboxSystems & { ordersCreated: boolean }> {
  const ordersDb = join(dataDir, "orders.db");
  const orders = await ensureOrdersDatabase(ordersDb);
  let hubspot: RunningHubSpot | undefined;
  if (opts.needHubSpot && !process.env.HUBSPOT_ACCESS_TOKEN)
    hubspot = await startHubSpotSandbox({ port: opts.hubspotPort });
  return {
    ordersDb,
    ordersCreated: orders.created,
    hubspot: hubspot ? { url: hubspot.url, token: hubspot.token } : undefined,
    close: async () => {
      await hubspot?.close();
    },
  };
}
