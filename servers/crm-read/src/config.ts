import { z } from "zod";
import type { HubSpotConfig } from "./hubspot.ts";

const env = z.object({
  HUBSPOT_ACCESS_TOKEN: z
    .string({
      error:
        "HUBSPOT_ACCESS_TOKEN is not set: use a HubSpot private-app token (gatehouse start passes the sandbox's)",
    })
    .min(10),
  HUBSPOT_BASE_URL: z.url().optional(),
  HUBSPOT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  HUBSPOT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  HUBSPOT_RETRY_BUDGET_MS: z.coerce.number().int().min(0).default(8_000),
  HUBSPOT_BREAKER_THRESHOLD: z.coerce.number().int().min(1).default(5),
  HUBSPOT_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).default(10_000),
});

/** HubSpot settings from the environment; with only a token set, the real HubSpot API is used. */
export function loadHubSpotConfig(source: NodeJS.ProcessEnv = process.env): HubSpotConfig {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    throw new Error(
      `invalid crm-read configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`,
    );
  }
  const e = parsed.data;
  return {
    baseUrl: e.HUBSPOT_BASE_URL ?? "https://api.hubapi.com",
    accessToken: e.HUBSPOT_ACCESS_TOKEN,
    timeoutMs: e.HUBSPOT_TIMEOUT_MS,
    maxAttempts: e.HUBSPOT_MAX_ATTEMPTS,
    retryBudgetMs: e.HUBSPOT_RETRY_BUDGET_MS,
    breakerThreshold: e.HUBSPOT_BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: e.HUBSPOT_BREAKER_HALF_OPEN_MS,
  };
}
