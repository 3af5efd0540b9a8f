/**
 * The HubSpot stand-in: a real HTTP server with the CRM endpoints Gatehouse uses, HubSpot's request and
 * error shapes, its private-app rate limits and fault injection. Point `@hubspot/api-client` at it with
 * `new Client({ accessToken: sandbox.token, basePath: sandbox.url, numberOfApiCallRetries: 0 })`.
 */
import { randomUUID } from "node:crypto";
import {
  type Answer,
  listParam,
  RollingWindow,
  retryAfterHeader,
  type StandInRequest,
  startStandIn,
} from "../stand-in/server.ts";
import { buildCrmSeed, type CrmObjectType, type CrmOwner, type CrmRecord, type CrmSeed } from "./crm-seed.ts";
import { HUBSPOT_FAULTS, type HubSpotFaults } from "./faults.ts";
import { parseSearchRequest, runSearch, SearchValidationError } from "./search.ts";

/** The private-app token the sandbox accepts unless another is configured. */
export const HUBSPOT_SANDBOX_TOKEN = "pat-sandbox-00000000-0000-4000-8000-000000000000";

export interface HubSpotLimits {
  /** Requests per token in a rolling 10-second window (HubSpot private apps: 100 or more). */
  tenSecondly?: number;
  /** Search requests per token per second (HubSpot: 5). */
  searchPerSecond?: number;
}

export interface HubSpotSandboxOptions {
  port?: number;
  host?: string;
  token?: string;
  seed?: CrmSeed;
  limits?: HubSpotLimits;
}

export interface RunningHubSpot {
  url: string;
  token: string;
  faults: HubSpotFaults;
  /** Requests received (every status, faulted ones included; control routes excluded), optionally by path prefix. */
  requestCount(pathPrefix?: string): number;
  /** Forgets the rate-limit windows (the request counts stay). */
  resetRateLimits(): void;
  close(): Promise<void>;
}

const DEFAULT_LIMITS = { tenSecondly: 100, searchPerSecond: 5 };
const TEN_SECONDS = 10_000;
const JSON_TYPE = "application/json;charset=utf-8";

/** Properties returned when a request names none, per object type (as HubSpot does). */
const DEFAULT_PROPERTIES: Record<CrmObjectType, string[]> = {
  companies: ["name", "domain"],
  contacts: ["firstname", "lastname", "email"],
  deals: ["dealname", "amount", "closedate", "pipeline", "dealstage"],
};
/** Properties every object carries in responses. */
const ALWAYS_PROPERTIES: Record<CrmObjectType, string[]> = {
  companies: ["hs_object_id", "createdate", "hs_lastmodifieddate"],
  contacts: ["hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"],
  deals: ["hs_object_id", "createdate", "hs_lastmodifieddate"],
};
/**
 * What free-text `query` searches in: HubSpot's default searchable properties of each object type. For
 * contacts that includes the email addresses and phone numbers, so a `query` matches on them.
 */
const SEARCHABLE: Record<CrmObjectType, string[]> = {
  companies: ["name", "domain", "hs_additional_domains", "website", "phone"],
  contacts: [
    "firstname",
    "lastname",
    "email",
    "hs_additional_emails",
    "phone",
    "mobilephone",
    "fax",
    "company",
  ],
  deals: ["dealname"],
};
const SINGULAR: Record<CrmObjectType, string> = { companies: "company", contacts: "contact", deals: "deal" };
/** HUBSPOT_DEFINED association type ids, by direction (unlabeled associations). */
const ASSOCIATION_TYPE_ID: Record<string, number> = {
  "contacts->companies": 279,
  "companies->contacts": 280,
  "deals->companies": 341,
  "companies->deals": 342,
  "deals->contacts": 3,
  "contacts->deals": 4,
};

function objectType(segment: string): CrmObjectType | undefined {
  switch (segment.toLowerCase()) {
    case "companies":
    case "company":
    case "0-2":
      return "companies";
    case "contacts":
    case "contact":
    case "0-1":
      return "contacts";
    case "deals":
    case "deal":
    case "0-3":
      return "deals";
    default:
      return undefined;
  }
}

/** A batch answer where some inputs failed: HubSpot sends it as 207 Multi-Status. */
class Partial207 {
  readonly body: unknown;

  constructor(body: unknown) {
    this.body = body;
  }
}

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.message));
    this.status = status;
    this.body = body;
  }
}

const errorBody = (message: string, category: string, extra: Record<string, unknown> = {}) => ({
  status: "error",
  message,
  correlationId: randomUUID(),
  category,
  ...extra,
});
const validation = (message: string, context?: Record<string, string[]>) =>
  new HttpError(400, errorBody(message, "VALIDATION_ERROR", context ? { context } : {}));
const notFound = (message = "Object not found. objectId are usually numeric.") =>
  new HttpError(404, errorBody(message, "OBJECT_NOT_FOUND"));

/** Per-token rolling windows. Only requests that were let through are counted. */
class RateLimiter {
  #all = new RollingWindow(TEN_SECONDS);
  #search = new RollingWindow(1000);

  readonly limits: { tenSecondly: number; searchPerSecond: number };

  constructor(limits: { tenSecondly: number; searchPerSecond: number }) {
    this.limits = limits;
  }

  /** Returns the refusal (policy and seconds to wait) or records the request and returns the headers. */
  take(
    key: string,
    isSearch: boolean,
  ): { ok: true; headers: Record<string, string> } | { ok: false; policy: string; retryAfter: number } {
    const now = Date.now();
    const all = this.#all.hits(key, now);
    const search = this.#search.hits(key, now);
    if (all.length >= this.limits.tenSecondly)
      return { ok: false, policy: "TEN_SECONDLY_ROLLING", retryAfter: this.#all.retryAfter(all, now) };
    if (isSearch && search.length >= this.limits.searchPerSecond)
      return { ok: false, policy: "SECONDLY", retryAfter: this.#search.retryAfter(search, now) };
    all.push(now);
    if (isSearch) search.push(now);
    const headers: Record<string, string> = {
      "x-hubspot-ratelimit-interval-milliseconds": String(TEN_SECONDS),
      "x-hubspot-ratelimit-max": String(this.limits.tenSecondly),
      "x-hubspot-ratelimit-remaining": String(Math.max(0, this.limits.tenSecondly - all.length)),
    };
    if (isSearch) {
      headers["x-hubspot-ratelimit-secondly"] = String(this.limits.searchPerSecond);
      headers["x-hubspot-ratelimit-secondly-remaining"] = String(
        Math.max(0, this.limits.searchPerSecond - search.length),
      );
    }
    return { ok: true, headers };
  }

  headersWhenRefused(): Record<string, string> {
    return {
      "x-hubspot-ratelimit-interval-milliseconds": String(TEN_SECONDS),
      "x-hubspot-ratelimit-max": String(this.limits.tenSecondly),
      "x-hubspot-ratelimit-remaining": "0",
    };
  }

  reset(): void {
    this.#all.clear();
    this.#search.clear();
  }
}

const tenSecondlyBody = () => ({
  status: "error",
  message: "You have reached your ten_secondly_rolling limit.",
  errorType: "RATE_LIMIT",
  correlationId: randomUUID(),
  policyName: "TEN_SECONDLY_ROLLING",
});
const secondlyBody = () => ({
  status: "error",
  message: "You have reached your secondly limit.",
  errorType: "RATE_LIMIT",
  correlationId: randomUUID(),
  policyName: "SECONDLY",
});
const SERVER_ERRORS: Record<number, [message: string, category: string]> = {
  500: ["internal error", "INTERNAL_ERROR"],
  502: ["Bad gateway: the upstream service did not answer in time.", "BAD_GATEWAY"],
  503: ["Service temporarily unavailable. Please retry.", "SERVICE_UNAVAILABLE"],
};

export async function startHubSpotSandbox(opts: HubSpotSandboxOptions = {}): Promise<RunningHubSpot> {
  const token = opts.token ?? HUBSPOT_SANDBOX_TOKEN;
  const seed = opts.seed ?? buildCrmSeed();
  const host = opts.host ?? "127.0.0.1";
  const limiter = new RateLimiter({ ...DEFAULT_LIMITS, ...stripUndefined(opts.limits ?? {}) });

  const objects: Record<CrmObjectType, CrmRecord[]> = {
    companies: seed.companies,
    contacts: seed.contacts,
    deals: seed.deals,
  };
  const byId: Record<CrmObjectType, Map<string, CrmRecord>> = {
    companies: new Map(seed.companies.map((r) => [r.id, r])),
    contacts: new Map(seed.contacts.map((r) => [r.id, r])),
    deals: new Map(seed.deals.map((r) => [r.id, r])),
  };
  const links = new Map<string, string[]>(); // "companies:1001->contacts" → ["2001", …]
  const link = (fromType: CrmObjectType, fromId: string, toType: CrmObjectType, toId: string) => {
    const key = `${fromType}:${fromId}->${toType}`;
    const list = links.get(key) ?? [];
    if (!list.includes(toId)) list.push(toId);
    links.set(key, list);
  };
  for (const a of seed.associations) {
    link(a.fromType, a.fromId, a.toType, a.toId);
    link(a.toType, a.toId, a.fromType, a.fromId);
  }
  for (const list of links.values()) list.sort((x, y) => Number(x) - Number(y));
  const associated = (fromType: CrmObjectType, fromId: string, toType: CrmObjectType) =>
    links.get(`${fromType}:${fromId}->${toType}`) ?? [];

  let url = "";

  function present(type: CrmObjectType, record: CrmRecord, requested: string[] | undefined) {
    const names = new Set([...(requested ?? DEFAULT_PROPERTIES[type]), ...ALWAYS_PROPERTIES[type]]);
    const properties: Record<string, string | null> = {};
    for (const name of names) properties[name] = record.properties[name] ?? null;
    properties.hs_object_id = record.id;
    return {
      id: record.id,
      properties,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      archived: false,
    };
  }

  const presentOwner = (o: CrmOwner) => ({
    id: o.id,
    email: o.email,
    type: "PERSON",
    firstName: o.firstName,
    lastName: o.lastName,
    userId: o.userId,
    userIdIncludingInactive: o.userId,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    archived: false,
    teams: [{ id: o.team.id, name: o.team.name, primary: true }],
  });

  const pageParams = (q: URLSearchParams, max: number, dflt: number) => {
    const rawLimit = q.get("limit");
    const limit = rawLimit === null || rawLimit === "" ? dflt : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1)
      throw validation(`Invalid limit: ${rawLimit}`, { limit: [String(rawLimit)] });
    const rawAfter = q.get("after");
    const after = rawAfter === null || rawAfter === "" ? 0 : Number(rawAfter);
    if (!Number.isInteger(after) || after < 0)
      throw validation(`Invalid after: ${rawAfter}`, { after: [String(rawAfter)] });
    return { limit: Math.min(limit, max), after };
  };
  const paging = (path: string, q: URLSearchParams, after: number, limit: number, total: number) => {
    if (after + limit >= total) return {};
    const next = new URLSearchParams(q);
    next.set("after", String(after + limit));
    return { paging: { next: { after: String(after + limit), link: `${url}${path}?${next}` } } };
  };

  /** Routes an authenticated, rate-limited request. Returns the JSON body for a 200. */
  function route(method: string, path: string, q: URLSearchParams, rawBody: string): unknown {
    const parts = path.split("/").filter(Boolean);
    const [crm, version, collection] = parts;
    if (crm !== "crm") throw notFound(`No route for ${method} ${path}`);

    // /crm/v3/owners[/{ownerId}]
    if (version === "v3" && collection === "owners") {
      if (method !== "GET") throw methodNotAllowed(method, path);
      if (parts.length === 3) {
        const email = q.get("email")?.toLowerCase();
        const all = seed.owners.filter((o) => !email || o.email.toLowerCase() === email);
        const { limit, after } = pageParams(q, 500, 100);
        return {
          results: all.slice(after, after + limit).map(presentOwner),
          ...paging(path, q, after, limit, all.length),
        };
      }
      if (parts.length === 4) {
        const id = decodeURIComponent(parts[3]!);
        const owner =
          q.get("idProperty") === "userId"
            ? seed.owners.find((o) => String(o.userId) === id)
            : seed.owners.find((o) => o.id === id);
        if (!owner) throw notFound(`Owner not found: ${id}`);
        return presentOwner(owner);
      }
    }

    if (collection !== "objects" || parts.length < 4) throw notFound(`No route for ${method} ${path}`);
    const type = objectType(decodeURIComponent(parts[3]!));
    if (!type) throw validation(`Unable to infer object type from: ${decodeURIComponent(parts[3]!)}`);

    // POST /crm/v3/objects/{type}/search
    if (version === "v3" && parts.length === 5 && parts[4] === "search" && method === "POST") {
      let body: unknown;
      try {
        body = rawBody === "" ? {} : JSON.parse(rawBody);
      } catch (e) {
        throw validation(`Invalid input JSON on line 1: ${(e as Error).message}`);
      }
      let req: ReturnType<typeof parseSearchRequest>;
      try {
        req = parseSearchRequest(body);
      } catch (e) {
        if (e instanceof SearchValidationError) throw validation(e.message, e.context);
        throw e;
      }
      const out = runSearch(objects[type], req, SEARCHABLE[type]);
      return {
        total: out.total,
        results: out.page.map((r) => present(type, r, req.properties)),
        ...(out.nextAfter !== undefined
          ? {
              paging: {
                next: { after: String(out.nextAfter), link: `${url}${path}?after=${out.nextAfter}` },
              },
            }
          : {}),
      };
    }

    // POST /crm/v3/objects/{type}/batch/read — 200, or 207 with `errors` when some ids do not exist.
    if (version === "v3" && parts.length === 6 && parts[4] === "batch" && parts[5] === "read") {
      if (method !== "POST") throw methodNotAllowed(method, path);
      let body: unknown;
      try {
        body = rawBody === "" ? {} : JSON.parse(rawBody);
      } catch (e) {
        throw validation(`Invalid input JSON on line 1: ${(e as Error).message}`);
      }
      const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
      if (!Array.isArray(b.inputs)) throw validation("Invalid input JSON: inputs is required");
      if (b.inputs.length > 100)
        throw validation(`Too many inputs (${b.inputs.length}). The maximum batch size is 100.`, {
          inputs: [String(b.inputs.length)],
        });
      const ids = b.inputs.map((i) => String((i as { id?: unknown })?.id ?? ""));
      const requested =
        Array.isArray(b.properties) && b.properties.length > 0 ? (b.properties as string[]) : undefined;
      const idProperty = typeof b.idProperty === "string" ? b.idProperty : undefined;
      const find = (id: string) =>
        type === "contacts" && idProperty === "email"
          ? objects.contacts.find((c) => c.properties.email?.toLowerCase() === id.toLowerCase())
          : byId[type].get(id);
      const found = [...new Set(ids)].map((id) => [id, find(id)] as const);
      const missing = found.filter(([, r]) => !r).map(([id]) => id);
      const now = new Date().toISOString();
      const result = {
        status: "COMPLETE",
        results: found.flatMap(([, r]) => (r ? [present(type, r, requested)] : [])),
        startedAt: now,
        completedAt: now,
        ...(missing.length > 0
          ? {
              numErrors: 1,
              errors: [
                {
                  status: "error",
                  category: "OBJECT_NOT_FOUND",
                  message: `Could not get some ${SINGULAR[type].toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`,
                  context: { ids: missing },
                  links: {},
                  errors: [],
                },
              ],
            }
          : {}),
      };
      return missing.length > 0 ? new Partial207(result) : result;
    }

    if (method !== "GET") throw methodNotAllowed(method, path);

    // GET /crm/v3/objects/{type}
    if (version === "v3" && parts.length === 4) {
      const { limit, after } = pageParams(q, 100, 10);
      const all = objects[type];
      const requested = listParam(q, "properties");
      const withAssoc = listParam(q, "associations");
      return {
        results: all.slice(after, after + limit).map((r) => withAssociations(type, r, requested, withAssoc)),
        ...paging(path, q, after, limit, all.length),
      };
    }

    // GET /crm/v3/objects/{type}/{id}
    if (version === "v3" && parts.length === 5) {
      const id = decodeURIComponent(parts[4]!);
      const idProperty = q.get("idProperty");
      let record: CrmRecord | undefined;
      if (!idProperty || idProperty === "hs_object_id") record = byId[type].get(id);
      else if (type === "contacts" && idProperty === "email")
        record = objects.contacts.find((c) => c.properties.email?.toLowerCase() === id.toLowerCase());
      else throw validation(`Property ${idProperty} is not a unique identifier property for ${type}.`);
      if (!record) throw notFound();
      return withAssociations(type, record, listParam(q, "properties"), listParam(q, "associations"));
    }

    // GET /crm/v4/objects/{fromType}/{id}/associations/{toType}
    if (version === "v4" && parts.length === 7 && parts[5] === "associations") {
      const toType = objectType(decodeURIComponent(parts[6]!));
      if (!toType) throw validation(`Unable to infer object type from: ${decodeURIComponent(parts[6]!)}`);
      const id = decodeURIComponent(parts[4]!);
      const { limit, after } = pageParams(q, 500, 500);
      const ids = byId[type].has(id) ? associated(type, id, toType) : [];
      const typeId = ASSOCIATION_TYPE_ID[`${type}->${toType}`] ?? 0;
      return {
        results: ids.slice(after, after + limit).map((toId) => ({
          toObjectId: Number(toId),
          associationTypes: [{ category: "HUBSPOT_DEFINED", typeId, label: null }],
        })),
        ...paging(path, q, after, limit, ids.length),
      };
    }

    throw notFound(`No route for ${method} ${path}`);
  }

  function withAssociations(
    type: CrmObjectType,
    record: CrmRecord,
    requested: string[] | undefined,
    assocTypes: string[] | undefined,
  ) {
    const out: ReturnType<typeof present> & { associations?: Record<string, unknown> } = present(
      type,
      record,
      requested,
    );
    if (assocTypes) {
      const associations: Record<string, unknown> = {};
      for (const raw of assocTypes) {
        const toType = objectType(raw);
        if (!toType) continue;
        const ids = associated(type, record.id, toType);
        if (ids.length === 0) continue;
        associations[toType] = {
          results: ids.map((id) => ({ id, type: `${SINGULAR[type]}_to_${SINGULAR[toType]}` })),
        };
      }
      if (Object.keys(associations).length > 0) out.associations = associations;
    }
    return out;
  }

  /** Authentication, rate limit, then the route. Always returns an answer (errors as HubSpot's error bodies). */
  function answer({ req, method, path, q, rawBody }: StandInRequest): Answer {
    const auth = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(auth);
    if (!match || match[1]!.trim() !== token) {
      return {
        status: 401,
        body: errorBody(
          "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
          "INVALID_AUTHENTICATION",
        ),
      };
    }

    const isSearch = method === "POST" && /^\/crm\/v3\/objects\/[^/]+\/search$/.test(path);
    const slot = limiter.take(token, isSearch);
    if (!slot.ok) {
      return {
        status: 429,
        body: slot.policy === "SECONDLY" ? secondlyBody() : tenSecondlyBody(),
        headers: { ...limiter.headersWhenRefused(), "retry-after": String(slot.retryAfter) },
      };
    }

    try {
      const out = route(method, path, q, rawBody);
      if (out instanceof Partial207) return { status: 207, body: out.body, headers: slot.headers };
      return { status: 200, body: out, headers: slot.headers };
    } catch (e) {
      if (e instanceof HttpError) return { status: e.status, body: e.body, headers: slot.headers };
      return { status: 500, body: errorBody("internal error", "INTERNAL_ERROR"), headers: slot.headers };
    }
  }

  const standIn = await startStandIn({
    port: opts.port ?? 7110,
    host,
    faults: HUBSPOT_FAULTS,
    contentType: JSON_TYPE,
    headers: ({ body }) => ({
      "content-type": JSON_TYPE,
      "x-hubspot-correlation-id":
        typeof body === "object" && body !== null && "correlationId" in body
          ? String((body as { correlationId: unknown }).correlationId)
          : randomUUID(),
    }),
    tooLarge: () => ({ status: 413, body: errorBody("Request body too large.", "VALIDATION_ERROR") }),
    internalError: () => errorBody("internal error", "INTERNAL_ERROR"),
    statusFault(fault) {
      if (fault.status === 429) {
        return {
          status: 429,
          body: tenSecondlyBody(),
          headers: { ...limiter.headersWhenRefused(), "retry-after": String(fault.retryAfterSeconds ?? 1) },
        };
      }
      const [message, category] = SERVER_ERRORS[fault.status]!;
      return { status: fault.status, body: errorBody(message, category), headers: retryAfterHeader(fault) };
    },
    malformedBody: '{"total":35,"results":[{"id":"1001","properties":{"name":"Nordlicht Logis',
    resetRateLimits: () => limiter.reset(),
    answer,
  });
  url = standIn.url;

  return {
    url,
    token,
    faults: standIn.faults,
    requestCount: standIn.requestCount,
    resetRateLimits: () => limiter.reset(),
    close: standIn.close,
  };
}

function methodNotAllowed(method: string, path: string) {
  return new HttpError(405, errorBody(`Method ${method} is not allowed for ${path}`, "VALIDATION_ERROR"));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
