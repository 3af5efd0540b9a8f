import { type ToolContext, ToolError } from "@gatehouse/kit";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { HubSpotGateway } from "./hubspot.ts";

/** The only HubSpot properties crm-read ever asks for: never "all properties". */
export const COMPANY_PROPERTIES = [
  "name",
  "domain",
  "hs_additional_domains",
  "region",
  "industry",
  "lifecyclestage",
  "hubspot_owner_id",
  "city",
  "country",
];
export const CONTACT_PROPERTIES = ["firstname", "lastname", "email", "phone", "jobtitle", "region"];
export const DEAL_PROPERTIES = [
  "dealname",
  "amount",
  "dealstage",
  "pipeline",
  "closedate",
  "hubspot_owner_id",
  "region",
];

const OPEN_STAGES = new Set([
  "appointmentscheduled",
  "qualifiedtobuy",
  "presentationscheduled",
  "decisionmakerboughtin",
  "contractsent",
]);
const MAX_DEALS_SUMMARISED = 1000;

type Ctx = Pick<ToolContext<unknown>, "annotate" | "signal">;
type Props = Record<string, string | null | undefined>;
interface HubSpotObject {
  id: string;
  properties: Props;
}
interface SearchPage {
  total: number;
  results: HubSpotObject[];
  paging?: { next?: { after?: string } };
}

const regionFilter = (tenant: string) => ({ propertyName: "region", operator: "EQ", value: tenant });

/** crm-read's queries against HubSpot. Tenancy filters scope each query; policy decides what may leave. */
export class Crm {
  constructor(private readonly hubspot: HubSpotGateway) {}

  private search(
    ctx: Ctx,
    objectType: "companies" | "contacts" | "deals",
    request: Record<string, unknown>,
  ): Promise<SearchPage> {
    const api = this.hubspot.client.crm[objectType].searchApi;
    return this.hubspot.call(
      ctx,
      `${objectType}.search`,
      () => api.doSearch(request as never) as Promise<SearchPage>,
    );
  }

  /** One page of a tenant's objects, optionally matching a query, with HubSpot's `after` made opaque. */
  private async searchInTenant(
    ctx: Ctx,
    objectType: "companies" | "contacts",
    sortBy: string,
    properties: string[],
    args: { tenant: string; query?: string; limit: number; cursor?: string },
  ) {
    const page = await this.search(ctx, objectType, {
      ...(args.query ? { query: args.query } : {}),
      filterGroups: [{ filters: [regionFilter(args.tenant)] }],
      sorts: [{ propertyName: sortBy, direction: "ASCENDING" }],
      properties,
      limit: args.limit,
      after: decodeCursor(args.cursor),
    });
    return {
      results: page.results,
      nextCursor: page.paging?.next?.after ? encodeCursor(page.paging.next.after) : null,
    };
  }

  async searchCompanies(ctx: Ctx, tenant: string, query: string | undefined, limit: number, cursor?: string) {
    const page = await this.searchInTenant(ctx, "companies", "name", COMPANY_PROPERTIES, {
      tenant,
      query,
      limit,
      cursor,
    });
    return { companies: page.results, nextCursor: page.nextCursor };
  }

  async searchContacts(ctx: Ctx, tenant: string, query: string, limit: number, cursor?: string) {
    const page = await this.searchInTenant(ctx, "contacts", "lastname", CONTACT_PROPERTIES, {
      tenant,
      query,
      limit,
      cursor,
    });
    return { contacts: page.results, nextCursor: page.nextCursor };
  }

  async company(ctx: Ctx, companyId: string) {
    let company: HubSpotObject & { associations?: Record<string, { results: Array<{ id: string }> }> };
    try {
      company = (await this.hubspot.call(ctx, "companies.get", () =>
        this.hubspot.client.crm.companies.basicApi.getById(companyId, COMPANY_PROPERTIES, undefined, [
          "contacts",
          "deals",
        ]),
      )) as typeof company;
    } catch (err) {
      if (err instanceof ToolError && err.message === "HubSpot has no such record.")
        throw new ToolError(`company ${companyId} does not exist`);
      throw err;
    }
    const contactIds = (company.associations?.contacts?.results ?? []).map((r) => r.id);
    const dealIds = (company.associations?.deals?.results ?? []).map((r) => r.id);
    const [contacts, deals] = await Promise.all([
      this.byIds(ctx, "contacts", contactIds.slice(0, 100), CONTACT_PROPERTIES),
      this.byIds(ctx, "deals", dealIds.slice(0, 100), DEAL_PROPERTIES),
    ]);
    return { company, contacts, contactsTotal: contactIds.length, deals };
  }

  /** Reads objects by id with one batch read, so a company costs three calls, not dozens. */
  private async byIds(
    ctx: Ctx,
    objectType: "contacts" | "deals",
    ids: string[],
    properties: string[],
  ): Promise<HubSpotObject[]> {
    if (ids.length === 0) return [];
    const api = this.hubspot.client.crm[objectType].batchApi;
    const res = await this.hubspot.call(
      ctx,
      `${objectType}.batchRead`,
      () =>
        api.read({ inputs: ids.map((id) => ({ id })), properties, propertiesWithHistory: [] }) as Promise<{
          results: HubSpotObject[];
        }>,
    );
    return res.results;
  }

  /** Deals of a tenant (optionally one owner's, or one company's), summarised by stage. */
  async dealSummary(ctx: Ctx, tenant: string, opts: { ownerId?: string; companyId?: string }) {
    let deals: HubSpotObject[] = [];
    let truncated = false;
    if (opts.companyId) {
      const { company, deals: companyDeals } = await this.company(ctx, opts.companyId);
      deals = companyDeals;
      return { deals, truncated, companyRegion: company.properties.region ?? null };
    }
    const filters = [
      regionFilter(tenant),
      ...(opts.ownerId ? [{ propertyName: "hubspot_owner_id", operator: "EQ", value: opts.ownerId }] : []),
    ];
    let after: string | undefined;
    do {
      const page = await this.search(ctx, "deals", {
        filterGroups: [{ filters }],
        properties: DEAL_PROPERTIES,
        limit: 200,
        after,
      });
      deals.push(...page.results);
      after = page.paging?.next?.after;
      if (deals.length >= MAX_DEALS_SUMMARISED && after) {
        truncated = true;
        break;
      }
    } while (after);
    return { deals, truncated, companyRegion: null };
  }
}

export function summariseDeals(deals: HubSpotObject[]) {
  const byStage = new Map<string, { count: number; amount: number }>();
  let openCount = 0;
  let openAmount = 0;
  let wonCount = 0;
  let wonAmount = 0;
  let lostCount = 0;
  for (const d of deals) {
    const stage = d.properties.dealstage ?? "unknown";
    const amount = Number(d.properties.amount ?? 0) || 0;
    const entry = byStage.get(stage) ?? { count: 0, amount: 0 };
    entry.count++;
    entry.amount += amount;
    byStage.set(stage, entry);
    if (OPEN_STAGES.has(stage)) {
      openCount++;
      openAmount += amount;
    } else if (stage === "closedwon") {
      wonCount++;
      wonAmount += amount;
    } else if (stage === "closedlost") lostCount++;
  }
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    stages: [...byStage.entries()]
      .map(([stage, v]) => ({ stage, count: v.count, amount: round(v.amount) }))
      .sort((a, b) => a.stage.localeCompare(b.stage)),
    open: { count: openCount, amount: round(openAmount) },
    won: { count: wonCount, amount: round(wonAmount) },
    lost: { count: lostCount },
  };
}
