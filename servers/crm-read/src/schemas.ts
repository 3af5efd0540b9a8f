import { z } from "zod";

export const hubspotId = (what: string) =>
  z.string().regex(/^\d{1,20}$/, `a ${what} id is HubSpot's numeric id, e.g. 1001`);
// HubSpot caps a search query at 3000 characters; agents never need more than a name or domain.
export const searchQuery = z.string().trim().min(2).max(100).describe("Part of a company name or web domain");
export const limit = z.number().int().min(1).max(50).default(10).describe("Page size (1-50)");
export const cursor = z.string().max(256).optional().describe("next_cursor from the previous page");
export const nextCursor = z
  .string()
  .nullable()
  .describe("Pass to the next call for more; null on the last page");

export const dealSummary = z.object({
  stages: z.array(z.object({ stage: z.string(), count: z.number().int(), amount: z.number() })),
  open: z.object({ count: z.number().int(), amount: z.number() }),
  won: z.object({ count: z.number().int(), amount: z.number() }),
  lost: z.object({ count: z.number().int() }),
});

export const props = (p: Record<string, string | null | undefined>) => (key: string) => p[key] ?? null;

/** HubSpot keeps extra company domains as one ";"-separated property. */
export const splitDomains = (value: string | null): string[] =>
  (value ?? "")
    .split(";")
    .map((d) => d.trim())
    .filter(Boolean);

/** A company as every crm-read tool shows it: the allowlisted properties, in one shape. */
export const companySummary = z.object({
  company_id: hubspotId("company"),
  tenant: z.string(),
  name: z.string().nullable(),
  domain: z.string().nullable(),
  additional_domains: z.array(z.string()),
  industry: z.string().nullable(),
  lifecycle_stage: z.string().nullable(),
  owner_id: z.string().nullable(),
  city: z.string().nullable(),
  country: z.string().nullable(),
});

export function toCompanySummary(c: {
  id: string;
  properties: Record<string, string | null | undefined>;
}): z.infer<typeof companySummary> {
  const p = props(c.properties);
  return {
    company_id: c.id,
    tenant: p("region") ?? "unknown",
    name: p("name"),
    domain: p("domain"),
    additional_domains: splitDomains(p("hs_additional_domains")),
    industry: p("industry"),
    lifecycle_stage: p("lifecyclestage"),
    owner_id: p("hubspot_owner_id"),
    city: p("city"),
    country: p("country"),
  };
}
