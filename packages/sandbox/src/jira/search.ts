/**
 * JQL semantics for the stand-in: checks a parsed query against the fields and values that exist (with Jira's
 * wording for what does not), turns it into a predicate and a sort order, and pages the result with opaque
 * `nextPageToken`s as the enhanced search (`/rest/api/3/search/jql`) does.
 */
import { createHash } from "node:crypto";
import type { JiraIssueType, JiraPriority, JiraProject, JiraStatus } from "./jira-seed.ts";
import { type Clause, type FieldRef, type Operand, type Operator, parseJql, type Value } from "./jql.ts";

/** What a JQL clause can look at in one issue. */
export interface SearchableIssue {
  id: string;
  key: string;
  /** The number after the project key. */
  number: number;
  projectId: string;
  issueTypeId: string;
  statusId: string;
  priorityId: string;
  summary: string;
  descriptionText: string;
  commentTexts: string[];
  labels: string[];
  /** Epoch milliseconds. */
  created: number;
  updated: number;
  properties: ReadonlyMap<string, unknown>;
}

export interface SearchCatalog {
  projects: JiraProject[];
  issueTypes: JiraIssueType[];
  statuses: JiraStatus[];
  priorities: JiraPriority[];
  issueKeyExists(key: string): boolean;
}

/** Semantic problems with a query (unknown field, operator or value), each worded like Jira's. */
export class JqlValidationError extends Error {
  readonly messages: string[];

  constructor(messages: string[]) {
    super(messages.join(" "));
    this.messages = messages;
    this.name = "JqlValidationError";
  }
}

export interface CompiledQuery {
  /** False when the query has no search restriction (Jira refuses those on the enhanced search). */
  bounded: boolean;
  matches(issue: SearchableIssue): boolean;
  compare(a: SearchableIssue, b: SearchableIssue): number;
}

type Predicate = (issue: SearchableIssue) => boolean;

type FieldKind =
  | "project"
  | "key"
  | "labels"
  | "status"
  | "issuetype"
  | "priority"
  | "text"
  | "date"
  | "property";

interface FieldInfo {
  kind: FieldKind;
  /** The name Jira uses in messages. */
  name: string;
  operators: Operator[];
}

const EQUALITY: Operator[] = ["=", "!=", "in", "not in"];
const EQUALITY_EMPTY: Operator[] = [...EQUALITY, "is", "is not"];
const TEXT: Operator[] = ["~", "!~", "is", "is not"];
const DATE: Operator[] = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"];

const FIELDS: Record<string, FieldInfo> = {
  project: { kind: "project", name: "project", operators: EQUALITY },
  key: { kind: "key", name: "key", operators: EQUALITY },
  issuekey: { kind: "key", name: "issuekey", operators: EQUALITY },
  id: { kind: "key", name: "id", operators: EQUALITY },
  labels: { kind: "labels", name: "labels", operators: EQUALITY_EMPTY },
  status: { kind: "status", name: "status", operators: EQUALITY },
  issuetype: { kind: "issuetype", name: "issuetype", operators: EQUALITY },
  type: { kind: "issuetype", name: "type", operators: EQUALITY },
  priority: { kind: "priority", name: "priority", operators: EQUALITY_EMPTY },
  summary: { kind: "text", name: "summary", operators: ["~", "!~"] },
  description: { kind: "text", name: "description", operators: TEXT },
  comment: { kind: "text", name: "comment", operators: ["~", "!~"] },
  text: { kind: "text", name: "text", operators: ["~"] },
  created: { kind: "date", name: "created", operators: DATE },
  createddate: { kind: "date", name: "createdDate", operators: DATE },
  updated: { kind: "date", name: "updated", operators: DATE },
  updateddate: { kind: "date", name: "updatedDate", operators: DATE },
};
const PROPERTY_FIELD: FieldInfo = { kind: "property", name: "issue.property", operators: EQUALITY_EMPTY };

const ISSUE_KEY = /^[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*$/;
const DATE_FORMATS =
  "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.";

export function compileJql(jql: string, catalog: SearchCatalog, now = Date.now()): CompiledQuery {
  const query = parseJql(jql);
  const errors: string[] = [];

  const fieldInfo = (f: FieldRef): FieldInfo | undefined => {
    if (f.kind === "property") return PROPERTY_FIELD;
    const info = FIELDS[f.name.toLowerCase()];
    if (!info) errors.push(`Field '${f.name}' does not exist or you do not have permission to view it.`);
    return info;
  };
  const label = (f: FieldRef) => (f.kind === "property" ? `issue.property[${f.key}]` : f.name);

  /** Resolves one value to an id among named things (project, status, …), or records Jira's error. */
  const resolver =
    <T extends { id: string; name: string }>(items: T[], extraKey?: (t: T) => string) =>
    (v: Value, field: string): string | undefined => {
      const s = v.value.toLowerCase();
      const hit = items.find(
        (t) => t.id === v.value || t.name.toLowerCase() === s || extraKey?.(t).toLowerCase() === s,
      );
      if (!hit) errors.push(`The value '${v.value}' does not exist for the field '${field}'.`);
      return hit?.id;
    };
  const resolveProject = resolver(catalog.projects, (p) => p.key);
  const resolveStatus = resolver(catalog.statuses);
  const resolveType = resolver(catalog.issueTypes);
  const resolvePriority = resolver(catalog.priorities);

  const resolveKey = (v: Value, field: string): string | undefined => {
    if (/^[0-9]+$/.test(v.value)) return v.value;
    if (!ISSUE_KEY.test(v.value)) {
      errors.push(`The issue key '${v.value}' for field '${field}' is invalid.`);
      return undefined;
    }
    if (!catalog.issueKeyExists(v.value)) {
      errors.push(`An issue with key '${v.value}' does not exist for field '${field}'.`);
      return undefined;
    }
    return v.value.toUpperCase();
  };

  const resolveDate = (v: Value, field: string): number | undefined => {
    const t = parseJqlDate(v.value, now);
    if (t === undefined)
      errors.push(`Date value '${v.value}' for field '${field}' is invalid. ${DATE_FORMATS}`);
    return t;
  };

  /** The operand's values as strings (a single value is a list of one); functions are resolved here. */
  const operandValues = (info: FieldInfo, field: FieldRef, op: Operator, operand: Operand): Value[] => {
    if (operand.kind === "value") return [operand];
    if (operand.kind === "list") {
      if (op !== "in" && op !== "not in") {
        errors.push(
          `The operator '${op.toUpperCase()}' does not support a list of values for field '${label(field)}'.`,
        );
        return [];
      }
      return operand.values;
    }
    if (operand.kind === "function") {
      if (operand.name.toLowerCase() === "now" && operand.args.length === 0) {
        if (info.kind !== "date") {
          errors.push(`The function 'now' is not supported by the field '${label(field)}'.`);
          return [];
        }
        return [{ value: String(now), pos: operand.pos }];
      }
      errors.push(
        `Unable to find JQL function '${operand.name}(${operand.args.map((a) => a.value).join(", ")})'.`,
      );
      return [];
    }
    return [];
  };

  function term(field: FieldRef, op: Operator, operand: Operand): Predicate {
    const info = fieldInfo(field);
    if (!info) return () => false;
    // `field = EMPTY` and `field != EMPTY` mean IS and IS NOT.
    if (operand.kind === "empty" && (op === "=" || op === "!=")) op = op === "=" ? "is" : "is not";
    if (!info.operators.includes(op)) {
      errors.push(`The operator '${op.toUpperCase()}' is not supported by the '${label(field)}' field.`);
      return () => false;
    }
    const negated = op === "!=" || op === "not in" || op === "!~" || op === "is not";

    if (op === "is" || op === "is not") {
      const empty = emptiness(info, field);
      return op === "is" ? empty : (i) => !empty(i);
    }

    const values = operandValues(info, field, op, operand);
    switch (info.kind) {
      case "project":
      case "status":
      case "issuetype":
      case "priority": {
        const resolve = {
          project: resolveProject,
          status: resolveStatus,
          issuetype: resolveType,
          priority: resolvePriority,
        }[info.kind];
        const ids = new Set(values.flatMap((v) => resolve(v, info.name) ?? []));
        const get = {
          project: (i: SearchableIssue) => i.projectId,
          status: (i: SearchableIssue) => i.statusId,
          issuetype: (i: SearchableIssue) => i.issueTypeId,
          priority: (i: SearchableIssue) => i.priorityId,
        }[info.kind];
        return negated ? (i) => !ids.has(get(i)) : (i) => ids.has(get(i));
      }
      case "key": {
        const wanted = new Set(values.flatMap((v) => resolveKey(v, info.name) ?? []));
        const hit = (i: SearchableIssue) => wanted.has(i.id) || wanted.has(i.key.toUpperCase());
        return negated ? (i) => !hit(i) : hit;
      }
      case "labels": {
        const wanted = new Set(values.map((v) => v.value.toLowerCase()));
        const hit = (i: SearchableIssue) => i.labels.some((l) => wanted.has(l.toLowerCase()));
        // Like Jira, a negative clause never matches an issue that has no labels at all.
        return negated ? (i) => i.labels.length > 0 && !hit(i) : hit;
      }
      case "text": {
        const needle = values[0]?.value ?? "";
        if (needle.trim() === "") {
          errors.push(`The field '${label(field)}' does not support searching for an empty string.`);
          return () => false;
        }
        // `~ "\"exact phrase\""` is a phrase search in Jira: the inner quotes delimit it, they are not text.
        const phrase = /^"(.+)"$/s.exec(needle.trim());
        const lower = (phrase ? phrase[1]! : needle).toLowerCase();
        const haystacks: (i: SearchableIssue) => string[] = {
          summary: (i: SearchableIssue) => [i.summary],
          description: (i: SearchableIssue) => [i.descriptionText],
          comment: (i: SearchableIssue) => i.commentTexts,
          text: (i: SearchableIssue) => [i.summary, i.descriptionText, ...i.commentTexts],
        }[info.name as "summary" | "description" | "comment" | "text"];
        const hit = (i: SearchableIssue) => haystacks(i).some((h) => h.toLowerCase().includes(lower));
        return negated ? (i) => !hit(i) : hit;
      }
      case "date": {
        const times = values.flatMap((v) => resolveDate(v, info.name) ?? []);
        const get = info.name.startsWith("created")
          ? (i: SearchableIssue) => i.created
          : (i: SearchableIssue) => i.updated;
        const t = times[0] ?? 0;
        switch (op) {
          case "=":
            return (i) => get(i) === t;
          case "!=":
            return (i) => get(i) !== t;
          case ">":
            return (i) => get(i) > t;
          case ">=":
            return (i) => get(i) >= t;
          case "<":
            return (i) => get(i) < t;
          case "<=":
            return (i) => get(i) <= t;
          case "in":
            return (i) => times.includes(get(i));
          default:
            return (i) => !times.includes(get(i));
        }
      }
      case "property": {
        if (field.kind !== "property") return () => false;
        const wanted = new Set(values.map((v) => v.value));
        const hit = (i: SearchableIssue) => propertyScalars(i, field).some((s) => wanted.has(s));
        // A negative clause never matches an issue that does not have the property.
        return negated ? (i) => propertyScalars(i, field).length > 0 && !hit(i) : hit;
      }
    }
  }

  function emptiness(info: FieldInfo, field: FieldRef): Predicate {
    switch (info.kind) {
      case "labels":
        return (i) => i.labels.length === 0;
      case "text":
        return (i) => i.descriptionText.trim() === "";
      case "property":
        return field.kind === "property" ? (i) => propertyScalars(i, field).length === 0 : () => true;
      case "priority":
        return (i) => i.priorityId === "";
      default:
        return () => false; // created/updated are never empty
    }
  }

  function compile(c: Clause): Predicate {
    switch (c.kind) {
      case "and": {
        const parts = c.clauses.map(compile);
        return (i) => parts.every((p) => p(i));
      }
      case "or": {
        const parts = c.clauses.map(compile);
        return (i) => parts.some((p) => p(i));
      }
      case "not": {
        const inner = compile(c.clause);
        return (i) => !inner(i);
      }
      case "term":
        return term(c.field, c.operator, c.operand);
    }
  }

  const matches = query.where ? compile(query.where) : () => true;

  const comparators = query.orderBy.map(({ field, direction }) => {
    const info = fieldInfo(field);
    if (!info) return () => 0;
    const cmp = sortComparator(info, field, catalog);
    if (!cmp) {
      errors.push(`Field '${label(field)}' does not support sorting.`);
      return () => 0;
    }
    return direction === "desc" ? (a: SearchableIssue, b: SearchableIssue) => -cmp(a, b) : cmp;
  });

  if (errors.length > 0) throw new JqlValidationError([...new Set(errors)]);
  return {
    bounded: query.where !== undefined,
    matches,
    compare(a, b) {
      for (const c of comparators) {
        const r = c(a, b);
        if (r !== 0) return r;
      }
      return Number(a.id) - Number(b.id); // without ORDER BY (and on ties): creation order
    },
  };
}

type Comparator = (a: SearchableIssue, b: SearchableIssue) => number;

function sortComparator(info: FieldInfo, field: FieldRef, catalog: SearchCatalog): Comparator | undefined {
  const byText = (get: (i: SearchableIssue) => string) => (a: SearchableIssue, b: SearchableIssue) =>
    get(a).localeCompare(get(b), "en", { sensitivity: "base" });
  const nameOf = (items: Array<{ id: string; name: string }>) => (id: string) =>
    items.find((t) => t.id === id)?.name ?? "";
  switch (info.kind) {
    case "key": {
      const projectKey = (id: string) => catalog.projects.find((p) => p.id === id)?.key ?? "";
      return (a, b) => projectKey(a.projectId).localeCompare(projectKey(b.projectId)) || a.number - b.number;
    }
    case "project": {
      const projectKey = (id: string) => catalog.projects.find((p) => p.id === id)?.key ?? "";
      return byText((i) => projectKey(i.projectId));
    }
    case "status":
      return byText((i) => nameOf(catalog.statuses)(i.statusId));
    case "issuetype":
      return byText((i) => nameOf(catalog.issueTypes)(i.issueTypeId));
    case "priority": {
      // Ascending runs from the lowest priority to the highest, as in Jira.
      const rank = (id: string) => -catalog.priorities.findIndex((p) => p.id === id);
      return (a, b) => rank(a.priorityId) - rank(b.priorityId);
    }
    case "date":
      return info.name.startsWith("created")
        ? (a, b) => a.created - b.created
        : (a, b) => a.updated - b.updated;
    case "text":
      return info.name === "summary" ? byText((i) => i.summary) : undefined;
    case "property":
      if (field.kind !== "property") return undefined;
      return (a, b) => {
        const x = propertyScalars(a, field)[0];
        const y = propertyScalars(b, field)[0];
        if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
        return x.localeCompare(y);
      };
    default:
      return undefined;
  }
}

/** The scalar values at `issue.property[key].path` (an array contributes each scalar element), as strings. */
function propertyScalars(issue: SearchableIssue, field: Extract<FieldRef, { kind: "property" }>): string[] {
  let v: unknown = issue.properties.get(field.key);
  for (const segment of field.path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[segment];
  }
  const scalars = Array.isArray(v) ? v : [v];
  return scalars.flatMap((s) =>
    typeof s === "string" || typeof s === "number" || typeof s === "boolean" ? [String(s)] : [],
  );
}

/**
 * A JQL date: 'yyyy-MM-dd', 'yyyy/MM/dd', either with ' HH:mm' (UTC here), a period relative to now
 * ('-5d', '4w 2d', '+1h', '-30m'), or epoch milliseconds (what `now()` resolves to).
 */
export function parseJqlDate(value: string, now: number): number | undefined {
  const s = value.trim();
  const abs = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:\s+(\d{2}):(\d{2}))?$/.exec(s);
  if (abs) {
    const [, y, mo, d, h = "0", mi = "0"] = abs;
    const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
    const check = new Date(t);
    if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
    if (Number(h) > 23 || Number(mi) > 59) return undefined;
    return t;
  }
  if (/^\d{10,}$/.test(s)) return Number(s);
  const period = /^([-+])?\s*((?:\d+\s*[wdhm]\s*)+)$/.exec(s);
  if (period) {
    const unit: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000 };
    let ms = 0;
    for (const [, n, u] of period[2]!.matchAll(/(\d+)\s*([wdhm])/g)) ms += Number(n) * unit[u!]!;
    return period[1] === "-" ? now - ms : now + ms;
  }
  return undefined;
}

/** An opaque continuation token bound to the query it pages (offset + a digest of the JQL). */
export function encodePageToken(offset: number, jql: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: digest(jql) })).toString("base64url");
}

/** The offset in a token issued for this same query, or undefined when the token is not one. */
export function decodePageToken(token: string, jql: string): number | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { o?: unknown; q?: unknown };
    if (typeof t.o !== "number" || !Number.isInteger(t.o) || t.o < 0 || t.q !== digest(jql)) return undefined;
    return t.o;
  } catch {
    return undefined;
  }
}

const digest = (jql: string) => createHash("sha256").update(jql.trim()).digest("base64url").slice(0, 16);
