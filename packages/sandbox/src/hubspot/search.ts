/**
 * HubSpot CRM search semantics (POST /crm/v3/objects/{type}/search): request validation with HubSpot's
 * limits, filter operators, free-text `query`, sorting and offset paging.
 */
import type { CrmRecord } from "./crm-seed.ts";

export const SEARCH_LIMITS = {
  maxLimit: 200,
  defaultLimit: 10,
  maxFilterGroups: 5,
  maxFiltersPerGroup: 6,
  maxFiltersTotal: 18,
  /** HubSpot returns at most 10,000 results per query; paging past that is a 400. */
  maxResults: 10_000,
  maxQueryLength: 3000,
} as const;

export const FILTER_OPERATORS = [
  "EQ",
  "NEQ",
  "LT",
  "LTE",
  "GT",
  "GTE",
  "BETWEEN",
  "IN",
  "NOT_IN",
  "HAS_PROPERTY",
  "NOT_HAS_PROPERTY",
  "CONTAINS_TOKEN",
  "NOT_CONTAINS_TOKEN",
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface SearchFilter {
  propertyName: string;
  operator: FilterOperator;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface ParsedSearch {
  filterGroups: SearchFilter[][];
  sorts: Array<{ propertyName: string; direction: "ASCENDING" | "DESCENDING" }>;
  query: string | undefined;
  properties: string[] | undefined;
  limit: number;
  after: number;
}

/** A request HubSpot would refuse with 400 VALIDATION_ERROR. */
export class SearchValidationError extends Error {
  readonly context?: Record<string, string[]>;

  constructor(message: string, context?: Record<string, string[]>) {
    super(message);
    this.context = context;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const scalar = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;

/** Parses and validates a search body; throws SearchValidationError as HubSpot would answer 400. */
export function parseSearchRequest(body: unknown): ParsedSearch {
  if (!isObject(body)) throw new SearchValidationError("Invalid input JSON: expected an object");

  let limit: number = SEARCH_LIMITS.defaultLimit;
  if (body.limit !== undefined && body.limit !== null) {
    const n = Number(body.limit);
    if (!Number.isInteger(n) || n < 0)
      throw new SearchValidationError(`Invalid limit: ${String(body.limit)}. Limit must be a whole number.`, {
        limit: [String(body.limit)],
      });
    if (n > SEARCH_LIMITS.maxLimit)
      throw new SearchValidationError(
        `Provided limit (${n}) exceeds the maximum of ${SEARCH_LIMITS.maxLimit} results per page.`,
        { limit: [String(n)], maxLimit: [String(SEARCH_LIMITS.maxLimit)] },
      );
    limit = n;
  }

  let after = 0;
  if (body.after !== undefined && body.after !== null && body.after !== "") {
    const raw = scalar(body.after) ?? "";
    if (!/^\d+$/.test(raw))
      throw new SearchValidationError(`Invalid after: "${raw}". Paging cursors are numeric offsets.`, {
        after: [raw],
      });
    after = Number(raw);
    if (after >= SEARCH_LIMITS.maxResults)
      throw new SearchValidationError(
        `Search results are limited to ${SEARCH_LIMITS.maxResults} records per query; after=${raw} pages beyond that. Narrow the filters instead of paging further.`,
        { after: [raw], maxResults: [String(SEARCH_LIMITS.maxResults)] },
      );
  }

  let query: string | undefined;
  if (body.query !== undefined && body.query !== null) {
    if (typeof body.query !== "string") throw new SearchValidationError("Invalid query: expected a string");
    if (body.query.length > SEARCH_LIMITS.maxQueryLength)
      throw new SearchValidationError(
        `Query is too long (${body.query.length} characters); the maximum is ${SEARCH_LIMITS.maxQueryLength}.`,
        { queryLength: [String(body.query.length)], maxQueryLength: [String(SEARCH_LIMITS.maxQueryLength)] },
      );
    query = body.query.trim() === "" ? undefined : body.query;
  }

  const filterGroups: SearchFilter[][] = [];
  if (body.filterGroups !== undefined && body.filterGroups !== null) {
    if (!Array.isArray(body.filterGroups))
      throw new SearchValidationError("Invalid filterGroups: expected an array");
    if (body.filterGroups.length > SEARCH_LIMITS.maxFilterGroups)
      throw new SearchValidationError(
        `Too many filter groups (${body.filterGroups.length}). The maximum is ${SEARCH_LIMITS.maxFilterGroups}.`,
        {
          filterGroups: [String(body.filterGroups.length)],
          maxFilterGroups: [String(SEARCH_LIMITS.maxFilterGroups)],
        },
      );
    let total = 0;
    for (const [g, group] of body.filterGroups.entries()) {
      if (!isObject(group) || !Array.isArray(group.filters))
        throw new SearchValidationError(`Invalid filterGroups[${g}]: expected { filters: [...] }`);
      if (group.filters.length > SEARCH_LIMITS.maxFiltersPerGroup)
        throw new SearchValidationError(
          `Too many filters in filter group ${g} (${group.filters.length}). The maximum is ${SEARCH_LIMITS.maxFiltersPerGroup} per group.`,
          {
            filters: [String(group.filters.length)],
            maxFiltersPerGroup: [String(SEARCH_LIMITS.maxFiltersPerGroup)],
          },
        );
      total += group.filters.length;
      filterGroups.push(group.filters.map((f, i) => parseFilter(f, `filterGroups[${g}].filters[${i}]`)));
    }
    if (total > SEARCH_LIMITS.maxFiltersTotal)
      throw new SearchValidationError(
        `Too many filters (${total}). The maximum is ${SEARCH_LIMITS.maxFiltersTotal} across all filter groups.`,
        { filters: [String(total)], maxFiltersTotal: [String(SEARCH_LIMITS.maxFiltersTotal)] },
      );
  }

  const sorts: ParsedSearch["sorts"] = [];
  if (body.sorts !== undefined && body.sorts !== null) {
    if (!Array.isArray(body.sorts)) throw new SearchValidationError("Invalid sorts: expected an array");
    for (const s of body.sorts) {
      if (typeof s === "string") {
        // The Node client documents "-createdate" for descending.
        if (s.startsWith("-")) sorts.push({ propertyName: s.slice(1), direction: "DESCENDING" });
        else sorts.push({ propertyName: s, direction: "ASCENDING" });
      } else if (isObject(s) && typeof s.propertyName === "string") {
        const direction = s.direction ?? "ASCENDING";
        if (direction !== "ASCENDING" && direction !== "DESCENDING")
          throw new SearchValidationError(
            `Invalid sort direction "${String(direction)}"; use ASCENDING or DESCENDING.`,
            { direction: [String(direction)] },
          );
        sorts.push({ propertyName: s.propertyName, direction });
      } else {
        throw new SearchValidationError(
          "Invalid sorts: each sort is a property name or { propertyName, direction }",
        );
      }
    }
  }

  let properties: string[] | undefined;
  if (body.properties !== undefined && body.properties !== null) {
    if (!Array.isArray(body.properties) || body.properties.some((p) => typeof p !== "string"))
      throw new SearchValidationError("Invalid properties: expected an array of property names");
    properties = body.properties.length > 0 ? (body.properties as string[]) : undefined;
  }

  return { filterGroups, sorts, query, properties, limit, after };
}

function parseFilter(f: unknown, where: string): SearchFilter {
  if (!isObject(f)) throw new SearchValidationError(`Invalid ${where}: expected an object`);
  const operator = f.operator;
  if (typeof operator !== "string" || !(FILTER_OPERATORS as readonly string[]).includes(operator))
    throw new SearchValidationError(
      `Invalid input JSON: Cannot deserialize value of type \`FilterOperator\` from String "${String(operator)}": not one of the values accepted for Enum class: [${FILTER_OPERATORS.join(", ")}]`,
      { operator: [String(operator)] },
    );
  if (typeof f.propertyName !== "string" || f.propertyName === "")
    throw new SearchValidationError(`Invalid ${where}: propertyName is required`);
  const op = operator as FilterOperator;
  const filter: SearchFilter = { propertyName: f.propertyName, operator: op };
  const value = scalar(f.value);
  const needsValue = !["IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"].includes(op);
  if (needsValue) {
    if (value === undefined)
      throw new SearchValidationError(`Invalid ${where}: operator ${op} requires a value`, {
        propertyName: [f.propertyName],
      });
    filter.value = value;
  }
  if (op === "BETWEEN") {
    const high = scalar(f.highValue);
    if (high === undefined)
      throw new SearchValidationError(`Invalid ${where}: operator BETWEEN requires highValue`);
    filter.highValue = high;
  }
  if (op === "IN" || op === "NOT_IN") {
    if (!Array.isArray(f.values) || f.values.length === 0)
      throw new SearchValidationError(`Invalid ${where}: operator ${op} requires a non-empty values array`, {
        propertyName: [f.propertyName],
      });
    filter.values = f.values.map((v) => scalar(v) ?? "");
  }
  return filter;
}

// ---------------------------------------------------------------------------------------------------
// Matching

const fold = (s: string) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
const tokens = (s: string) =>
  fold(s)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Numbers compare as numbers, ISO dates and epoch millis compare as instants, the rest as text. */
function comparable(s: string): number | undefined {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

export function compareValues(a: string, b: string): number {
  const na = comparable(a);
  const nb = comparable(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  const fa = fold(a);
  const fb = fold(b);
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

const present = (v: string | undefined): v is string => v !== undefined && v !== "";

function containsToken(value: string, token: string): boolean {
  const t = fold(token).trim();
  if (t.includes("*")) {
    const re = new RegExp(`^${t.split("*").map(escapeRe).join(".*")}$`, "u");
    return re.test(fold(value).trim()) || tokens(value).some((x) => re.test(x));
  }
  const have = new Set(tokens(value));
  const want = tokens(t);
  return want.length > 0 && want.every((w) => have.has(w));
}

function matchesFilter(record: CrmRecord, f: SearchFilter): boolean {
  const v = f.propertyName === "hs_object_id" ? record.id : record.properties[f.propertyName];
  const value = f.value ?? "";
  switch (f.operator) {
    case "HAS_PROPERTY":
      return present(v);
    case "NOT_HAS_PROPERTY":
      return !present(v);
    case "EQ":
      return present(v) && compareValues(v, value) === 0;
    case "NEQ":
      return !present(v) || compareValues(v, value) !== 0;
    case "IN":
      return present(v) && (f.values ?? []).some((x) => compareValues(v, x) === 0);
    case "NOT_IN":
      return !present(v) || !(f.values ?? []).some((x) => compareValues(v, x) === 0);
    case "LT":
      return present(v) && compareValues(v, value) < 0;
    case "LTE":
      return present(v) && compareValues(v, value) <= 0;
    case "GT":
      return present(v) && compareValues(v, value) > 0;
    case "GTE":
      return present(v) && compareValues(v, value) >= 0;
    case "BETWEEN":
      return present(v) && compareValues(v, value) >= 0 && compareValues(v, f.highValue ?? "") <= 0;
    case "CONTAINS_TOKEN":
      return present(v) && containsToken(v, value);
    case "NOT_CONTAINS_TOKEN":
      return !present(v) || !containsToken(v, value);
  }
}

/**
 * Free-text `query`: every word must prefix-match, case- and accent-insensitively, at a word boundary
 * of one of the object type's default searchable properties ("fjord", "maritime.com", "hudsondata.io").
 */
function matchesQuery(record: CrmRecord, query: string, searchable: readonly string[]): boolean {
  const values = searchable
    .map((p) => record.properties[p])
    .filter(present)
    .map((v) => fold(v).trim());
  return fold(query)
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => {
      const re = new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRe(word)}`, "u");
      return values.some((v) => re.test(v));
    });
}

export interface SearchOutcome {
  total: number;
  page: CrmRecord[];
  /** Offset of the next page, when there is one (and it stays within HubSpot's 10,000 cap). */
  nextAfter?: number;
}

export function runSearch(
  records: readonly CrmRecord[],
  req: ParsedSearch,
  searchable: readonly string[],
): SearchOutcome {
  const matched = records.filter(
    (r) =>
      (req.filterGroups.length === 0 || req.filterGroups.some((g) => g.every((f) => matchesFilter(r, f)))) &&
      (req.query === undefined || matchesQuery(r, req.query, searchable)),
  );
  const byId = (a: CrmRecord, b: CrmRecord) => Number(a.id) - Number(b.id);
  const sorted = [...matched].sort((a, b) => {
    for (const s of req.sorts) {
      const va = s.propertyName === "hs_object_id" ? a.id : a.properties[s.propertyName];
      const vb = s.propertyName === "hs_object_id" ? b.id : b.properties[s.propertyName];
      // Missing values sort last in either direction.
      if (!present(va) || !present(vb)) {
        if (present(va) !== present(vb)) return present(va) ? -1 : 1;
        continue;
      }
      const c = compareValues(va, vb);
      if (c !== 0) return s.direction === "DESCENDING" ? -c : c;
    }
    return byId(a, b);
  });
  const page = sorted.slice(req.after, req.after + req.limit);
  const next = req.after + req.limit;
  return {
    total: matched.length,
    page,
    ...(req.limit > 0 && next < sorted.length && next < SEARCH_LIMITS.maxResults ? { nextAfter: next } : {}),
  };
}
