import type { ToolContext } from "@gatehouse/kit";
import type { Downstream, DownstreamResult } from "./downstream.ts";
import type { CrmCompany } from "./findings.ts";
import { companyDomains } from "./join-keys.ts";

type Ctx = Pick<ToolContext<unknown>, "callerToken" | "trace" | "signal" | "annotate">;

/**
 * The CRM company for an account's web domains: search by the first domain, match on any of the
 * company's domains (its primary and HubSpot's additional ones), then read the company. No match is no
 * result, not an error; the company's full domain list is returned for joins that need it.
 */
export async function findCompany(
  down: Downstream,
  ctx: Ctx,
  domains: string[],
  /** The tenant to search (the caller's when omitted). */
  tenant?: string,
): Promise<{ result?: DownstreamResult<CrmCompany>; domains: string[] }> {
  const found = await down.call(ctx, "crm-read", "search_companies", {
    query: domains[0],
    limit: 10,
    ...(tenant ? { tenant } : {}),
  });
  if (!found.ok) return { result: found, domains };
  const match = found.value.companies.find((c) =>
    companyDomains(c.domain, c.additional_domains).some((d) => domains.includes(d)),
  );
  if (!match) return { domains };
  return {
    result: await down.call(ctx, "crm-read", "get_company", { company_id: match.company_id }),
    domains: companyDomains(match.domain, match.additional_domains),
  };
}
