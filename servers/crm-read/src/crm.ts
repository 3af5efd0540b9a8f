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

/**
 * What a contact search matches on for a caller who may not see contact details: only properties it
 * sees. HubSpot's free-text `query` also matches emails and phone numbers, so such a caller could confirm
 * an address, or extend a prefix a character at a time, from whether a (redacted) contact comes back.
 */
export const CONTACT_VISIBLE_SEARCH = ["firstname", "lastname", "jobtitle"] as const;
/** HubSpot allows 6 filters a group and 18 in all; each group also carries the tenant filter. */
export const MAX_VISIBLE_SEARCH_WORDS = 5;

/** A word matches a property when one of the property's words starts with it (HubSpot's `word*` token). */
const startsAWord = (propertyName: string, word: string) => ({
  propertyName,
  operator: "CONTAINS_TOKEN",
  value: `${word}*`,
});

/**
 * Filter groups (ORed; filters within a group ANDed) that find a tenant's contacts whose first name, last
 * name or job title holds every word of the query, or whose first name holds the first word and last name
 * the rest ("Anna Berg").
 */
export function visibleContactFilterGroups(tenant: string, query: string) {
  // A `*` of the caller's would widen the token match; the words are prefixes anyway.
  const words = query
    .split(/\s+/)
    .map((w) => w.replaceAll("*", ""))
    .filter(Boolean);
  if (words.length === 0) throw new ToolError("query: give part of a contact's name or job title");
  if (words.length > MAX_VISIBLE_SEARCH_WORDS)
    throw new ToolError(
      `query: at most ${MAX_VISIBLE_SEARCH_WORDS} words of a contact's name or job title (got ${words.length})`,
    );
  const groups = CONTACT_VISIBLE_SEARCH.map((property) => ({
    filters: [regionFilter(tenant), ...words.map((w) => startsAWord(property, w))],
  }));
  // First name then last name, while it fits HubSpot's 18 filters (up to 3 words).
  if (words.length > 1 && words.length <= 3)
    groups.push({
      filters: [
        regionFilter(tenant),
        startsAWord("firstname", words[0]!),
        ...words.slice(1).map((w) => startsAWord("lastname", w)),
      ],
    });
  return groups;
}

/** crm-read's queries against HubSpot. Tenancy filters scope each query; policy decides what may leave. */
export class Crm {
  private readonly hubspot: HubSpotGateway;

  constructor(hubspot: HubSpotGateway) {
    this.hubspot = hubspot;
  }

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
    args: {
      tenant: string;
      query?: string;
      limit: number;
      cursor?: string;
      filterGroups?: Array<{ filters: object[] }>;
    },
  ) {
    const page = await this.search(ctx, objectType, {
      ...(args.query ? { query: args.query } : {}),
      filterGroups: args.filterGroups ?? [{ filters: [regionFilter(args.tenant)] }],
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

  /**
   * A caller who may see contact details searches with HubSpot's free text (names, emails, phone numbers);
   * anyone else only by the properties it sees, so the search cannot reveal what the result redacts.
   */
  async searchContacts(
    ctx: Ctx & Pick<ToolContext<unknown>, "piiVisible">,
    tenant: string,
    query: string,
    limit: number,
    cursor?: string,
  ) {
    const filterGroups = ctx.piiVisible ? undefined : visibleContactFilterGroups(tenant, query);
    ctx.annotate("matched_on", filterGroups ? CONTACT_VISIBLE_SEARCH.join(",") : "hubspot_free_text");
    const page = await this.searchInTenant(
      ctx,
      "contacts",
      "lastname",
      CONTACT_PROPERTIES,
      filterGroups ? { tenant, limit, cursor, filterGroups } : { tenant, query, limit, cursor },
    );
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
        throw new ToolError(`company ${companyId} does not exist`, { code: "not_found" });
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
