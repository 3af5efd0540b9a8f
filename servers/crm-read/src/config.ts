import { type UpstreamConfig, upstreamConfigFromEnv } from "@gatehouse/kit";
import { z } from "zod";

const env = z.object({
  HUBSPOT_ACCESS_TOKEN: z
    .string({
      error:
        "HUBSPOT_ACCESS_TOKEN is not set: use a HubSpot private-app token (gatehouse start passes the sandbox's)",
    })
    .min(10),
  HUBSPOT_BASE_URL: z.url().optional(),
});

/** HubSpot settings from the environment; with only a token set, the real HubSpot API is used. */
export function loadHubSpotConfig(
  source: NodeJS.ProcessEnv = process.env,
): UpstreamConfig & { baseUrl: string; accessToken: string } {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    throw new Error(
      `invalid crm-read configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`,
    );
  }
  return {
    ...upstreamConfigFromEnv("HUBSPOT", source),
    baseUrl: parsed.data.HUBSPOT_BASE_URL ?? "https://api.hubapi.com",
    accessToken: parsed.data.HUBSPOT_ACCESS_TOKEN,
  };
}
