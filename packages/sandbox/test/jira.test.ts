import { type CloudClient, createCloudClient } from "jira.js";
import type { Document } from "jira.js/cloud";
import {
  type ApiError,
  type Client,
  createClient,
  isApiError,
  isNetworkError,
  isRateLimitError,
  isSchemaMismatchError,
  type NetworkError,
  type SchemaMismatchBehavior,
  type SchemaMismatchError,
} from "jira.js/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  JIRA_SANDBOX_API_TOKEN,
  JIRA_SANDBOX_EMAIL,
  type JiraFault,
  type RunningJira,
  startJiraSandbox,
} from "../src/index.ts";
import { jqlString } from "../src/jira/jql.ts";

const JIRA_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/;
const REMOVED =
  "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

/** What a failed jira.js call surfaces: the typed ApiError's status and Jira's error body. */
interface JiraError {
  error: ApiError;
  status: number;
  data: { errorMessages: string[]; errors: Record<string, string> };
}

/** jira.js 6 throws an ApiError (a subclass per status) for any HTTP error answer, with the parsed body. */
async function jiraError(p: Promise<unknown>): Promise<JiraError> {
  try {
    await p;
  } catch (e) {
    expect(isApiError(e), String(e)).toBe(true);
    const err = e as ApiError;
    return { error: err, status: err.status, data: err.body as JiraError["data"] };
  }
  throw new Error("expected the call to fail");
}

/** What jira.js 6 throws when no HTTP answer arrives: a NetworkError (never an ApiError). */
async function transportError(p: Promise<unknown>): Promise<NetworkError> {
  try {
    await p;
  } catch (e) {
    expect(isApiError(e)).toBe(false);
    expect(isNetworkError(e), String(e)).toBe(true);
    return e as NetworkError;
  }
  throw new Error("expected the call to fail");
}

/**
 * jira.js 6 with its own transport, as configured out of the box (no retries) except that a response its schema
 * does not describe is an error: every answer below is checked against the runtime schemas of jira.js 6.
 */
const client = (
  s: RunningJira,
  extra: { apiToken?: string; onSchemaMismatch?: SchemaMismatchBehavior } = {},
): CloudClient =>
  createCloudClient({
    host: s.url,
    auth: { type: "basic", email: s.email, apiToken: extra.apiToken ?? s.apiToken },
    onSchemaMismatch: extra.onSchemaMismatch ?? "throw",
  });

/** The low-level jira.js client, for a route no endpoint function calls any more (the removed search). */
const lowLevel = (s: RunningJira): Client =>
  createClient({
    host: s.url,
    auth: { type: "basic", email: s.email, apiToken: s.apiToken },
    onSchemaMismatch: "throw",
  });

/**
 * jira.js 6 sends without an AbortSignal and has no timeout option, so a caller that gives up brings its own
 * transport (as Gatehouse's JiraGateway does): jira.js's endpoint functions on a `Client` whose fetch can be
 * aborted. Only what these tests need: the request, and the abort.
 */
const abortable = (s: RunningJira, signal: AbortSignal): CloudClient =>
  createCloudClient({
    async sendRequest<T>(o: { url: string; method?: string; body?: unknown }): Promise<T> {
      const res = await fetch(new URL(o.url, s.url), {
        method: o.method ?? "GET",
        headers: {
          accept: "application/json",
          "content-type": "application/json",
          authorization: `Basic ${Buffer.from(`${s.email}:${s.apiToken}`).toString("base64")}`,
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal,
      });
      return (await res.json()) as T;
    },
  });

const doc = (...paragraphs: string[]): Document => ({
  type: "doc",
  version: 1,
  content: paragraphs.map((text) => ({ type: "paragraph", content: [{ type: "text", text }] })),
});

type CreateFields = NonNullable<Parameters<CloudClient["issues"]["createIssue"]>[0]["fields"]>;
const fields = (over: CreateFields = {}): CreateFields => ({
  project: { key: "SUP" },
  issuetype: { name: "Task" },
  summary: "Customer cannot open the shipment tracking page",
  description: doc("The tracking link from the confirmation email returns 404."),
  ...over,
});

/** Every issue a JQL query matches, following nextPageToken until isLast; also the number of pages. */
async function searchAll(c: CloudClient, jql: string, maxResults: number) {
  const keys: string[] = [];
  let nextPageToken: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await c.issueSearch.searchAndReconsileIssuesUsingJql({
      jql,
      maxResults,
      fields: ["summary"],
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    pages++;
    keys.push(...(page.issues ?? []).map((i) => i.key!));
    if (page.isLast) {
      expect(page.nextPageToken).toBeUndefined();
      return { keys, pages };
    }
    expect(page.isLast).toBe(false);
    expect(page.nextPageToken).toEqual(expect.any(String));
    nextPageToken = page.nextPageToken!;
  }
}

const keysOf = async (c: CloudClient, jql: string) =>
  (
    await c.issueSearch.searchAndReconsileIssuesUsingJql({ jql, fields: ["summary"], maxResults: 100 })
  ).issues?.map((i) => i.key) ?? [];

/** An issue's fields, which jira.js 6 types as a record of anything (they depend on the site's configuration). */
interface IssueFields {
  summary: string;
  description: Document | null;
  labels: string[];
  priority: { name: string };
  issuetype: { name: string };
  project: { key: string };
  status: { name: string };
  created: string;
  updated: string;
  comment: { total: number; comments: Array<{ id: string; created: string; updated: string }> };
}
const fieldsOf = (issue: { fields?: Record<string, unknown> }) => issue.fields as unknown as IssueFields;

let jira: RunningJira;
let jc: CloudClient;
beforeAll(async () => {
  jira = await startJiraSandbox({ port: 0, limits: { perMinute: 100_000 } });
  jc = client(jira);
});
afterAll(() => jira.close());
afterEach(() => jira.faults.clear());

describe("Jira sandbox through jira.js 6: projects, issues, properties, comments, transitions", () => {
  it("uses the documented default credentials", () => {
    expect(jira.email).toBe(JIRA_SANDBOX_EMAIL);
    expect(jira.apiToken).toBe(JIRA_SANDBOX_API_TOKEN);
    expect(jira.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("describes a project with its issue types, and 404s an unknown one", async () => {
    const p = await jc.projects.getProject({ projectIdOrKey: "SUP" });
    expect(p).toMatchObject({ id: "10000", key: "SUP", name: "Support EMEA", projectTypeKey: "software" });
    expect(p.issueTypes?.map((t) => [t.id, t.name, t.subtask])).toEqual([
      ["10001", "Task", false],
      ["10002", "Bug", false],
      ["10003", "Incident", false],
    ]);
    expect((await jc.projects.getProject({ projectIdOrKey: "NAS" })).name).toBe("Support NA");
    expect((await jc.projects.getProject({ projectIdOrKey: "10002" })).key).toBe("OPS");
    const e = await jiraError(jc.projects.getProject({ projectIdOrKey: "NOPE" }));
    expect(e.status).toBe(404);
    expect(e.error.name).toBe("NotFoundError");
    expect(e.data).toEqual({ errorMessages: ["No project could be found with key 'NOPE'."], errors: {} });
  });

  it("lists the five priorities as a page, and one by id", async () => {
    const page = await jc.issuePriorities.searchPriorities();
    expect(page.values.map((p) => p.name)).toEqual(["Highest", "High", "Medium", "Low", "Lowest"]);
    expect(page).toMatchObject({ startAt: 0, maxResults: 50, total: 5, isLast: true });
    expect(page.values.filter((p) => p.isDefault).map((p) => p.name)).toEqual(["Medium"]);

    const second = await jc.issuePriorities.searchPriorities({ startAt: "1", maxResults: "2" });
    expect(second.values.map((p) => p.name)).toEqual(["High", "Medium"]);
    expect(second).toMatchObject({ startAt: 1, maxResults: 2, total: 5, isLast: false });
    expect(second.nextPage).toBe(`${jira.url}/rest/api/3/priority/search?maxResults=2&startAt=3`);
    const byName = await jc.issuePriorities.searchPriorities({ priorityName: "low" });
    expect(byName.values.map((p) => p.name)).toEqual(["Low", "Lowest"]);
    expect(
      (await jc.issuePriorities.searchPriorities({ onlyDefault: true })).values.map((p) => p.name),
    ).toEqual(["Medium"]);
    expect((await jc.issuePriorities.getPriority({ id: "2" })).name).toBe("High");
    const missing = await jiraError(jc.issuePriorities.getPriority({ id: "99" }));
    expect(missing.status).toBe(404);
  });

  it("serves the seeded issues with Jira's issue shape", async () => {
    const seeded = jira
      .issues()
      .filter((i) => ["SUP-1", "SUP-2", "SUP-3", "NAS-1", "NAS-2", "OPS-1"].includes(i.key));
    expect(seeded).toHaveLength(6);
    const i = await jc.issues.getIssue({ issueIdOrKey: "SUP-3" });
    expect(i.key).toBe("SUP-3");
    const f = fieldsOf(i);
    expect(f.status.name).toBe("Done");
    expect(f.issuetype.name).toBe("Incident");
    expect(f.project.key).toBe("SUP");
    expect(f.description).toMatchObject({ type: "doc", version: 1 });
    expect(f.comment.total).toBe(2);
    expect(f.created).toMatch(JIRA_TIME);
    expect(f.comment.comments[0]!.created).toMatch(JIRA_TIME);
  });

  it("creates an issue with an ADF description, labels, priority and properties, and reads it back", async () => {
    const description = doc("First paragraph.", "Second paragraph.");
    const created = await jc.issues.createIssue({
      fields: fields({
        summary: "Nordlicht asks for a delivery-date correction",
        description,
        labels: ["customer-emea", "gatehouse"],
        priority: { name: "High" },
      }),
      properties: [{ key: "gatehouse", value: { draftId: "d-create", approvedBy: "u-2" } }],
    });
    expect(created.key).toMatch(/^SUP-\d+$/);
    expect(created.id).toMatch(/^\d+$/);
    expect(created.self).toBe(`${jira.url}/rest/api/3/issue/${created.id}`);

    const issue = await jc.issues.getIssue({ issueIdOrKey: created.key });
    expect(issue.id).toBe(created.id);
    const f = fieldsOf(issue);
    expect(f.summary).toBe("Nordlicht asks for a delivery-date correction");
    expect(f.description).toEqual(description);
    expect(f.labels).toEqual(["customer-emea", "gatehouse"]);
    expect(f.priority.name).toBe("High");
    expect(f.issuetype.name).toBe("Task");
    expect(f.project.key).toBe("SUP");
    expect(f.status.name).toBe("To Do");
    expect(f.created).toMatch(JIRA_TIME);
    expect(f.updated).toMatch(JIRA_TIME);

    // By id, with a field subset and the property inlined.
    const slim = await jc.issues.getIssue({
      issueIdOrKey: created.id,
      fields: ["summary"],
      properties: ["gatehouse"],
    });
    expect(Object.keys(slim.fields ?? {})).toEqual(["summary"]);
    expect(slim.properties).toEqual({ gatehouse: { draftId: "d-create", approvedBy: "u-2" } });

    const prop = await jc.issueProperties.getIssueProperty({
      issueIdOrKey: created.key,
      propertyKey: "gatehouse",
    });
    expect(prop).toEqual({ key: "gatehouse", value: { draftId: "d-create", approvedBy: "u-2" } });

    await jc.issueProperties.setIssueProperty({
      issueIdOrKey: created.key,
      propertyKey: "gatehouse.audit",
      body: { eventId: "ev-1" },
    });
    expect(
      (await jc.issueProperties.getIssuePropertyKeys({ issueIdOrKey: created.key })).keys?.map((k) => k.key),
    ).toEqual(["gatehouse", "gatehouse.audit"]);

    const snapshot = jira.issues().find((i) => i.key === created.key);
    expect(snapshot).toEqual({
      id: created.id,
      key: created.key,
      projectKey: "SUP",
      issueType: "Task",
      summary: "Nordlicht asks for a delivery-date correction",
      labels: ["customer-emea", "gatehouse"],
      properties: {
        gatehouse: { draftId: "d-create", approvedBy: "u-2" },
        "gatehouse.audit": { eventId: "ev-1" },
      },
      comments: 0,
    });
  });

  it("404s a missing issue and a missing property with Jira's messages", async () => {
    const e = await jiraError(jc.issues.getIssue({ issueIdOrKey: "SUP-9999" }));
    expect(e.status).toBe(404);
    expect(e.data).toEqual({
      errorMessages: ["Issue does not exist or you do not have permission to see it."],
      errors: {},
    });
    const p = await jiraError(
      jc.issueProperties.getIssueProperty({ issueIdOrKey: "SUP-1", propertyKey: "nope" }),
    );
    expect(p.status).toBe(404);
    expect(p.data.errorMessages).toEqual(["The property with key 'nope' does not exist."]);
  });

  it("refuses invalid issues with Jira's field errors, and creates nothing", async () => {
    const before = jira.issues().length;
    const refuse = async (f: CreateFields) => {
      const e = await jiraError(jc.issues.createIssue({ fields: f }));
      expect(e.status).toBe(400);
      expect(e.data.errorMessages).toEqual([]);
      return e.data.errors;
    };
    expect(await refuse(fields({ summary: "" }))).toEqual({
      summary: "You must specify a summary of the issue.",
    });
    expect(await refuse(fields({ summary: "x".repeat(256) }))).toEqual({
      summary: "Summary must be less than 255 characters.",
    });
    expect(await refuse(fields({ issuetype: { name: "Epic" } }))).toEqual({
      issuetype: "Specify a valid issue type",
    });
    expect(await refuse(fields({ project: { key: "NOPE" } }))).toEqual({
      project: "valid project is required",
    });
    const notAdf = { type: "paragraph", content: [{ type: "text", text: "plain" }] };
    expect((await refuse(fields({ description: notAdf }))).description).toMatch(
      /^Operation value must be an Atlassian Document/,
    );
    expect(await refuse(fields({ labels: ["ok", "a b"] }))).toEqual({
      labels: "The label 'a b' contains spaces which is invalid.",
    });
    // Several problems at once are reported together.
    expect(Object.keys(await refuse(fields({ summary: "", issuetype: { id: "99" } }))).sort()).toEqual([
      "issuetype",
      "summary",
    ]);
    expect(jira.issues()).toHaveLength(before);

    // 255 characters is the limit, not over it.
    const max = await jc.issues.createIssue({ fields: fields({ summary: "y".repeat(255) }) });
    expect(max.key).toMatch(/^SUP-/);
  });

  it("takes rich text as ADF on v3 only: a wiki-markup string, which jira.js 6 sends to v2, files nothing", async () => {
    const before = jira.issues().length;
    const posts = jira.requestCount("/rest/api/2/issue");
    const e = await jiraError(
      jc.issues.createIssue({ fields: fields({ summary: "Wiki markup", description: "h2. Not ADF" }) }),
    );
    expect(e.status).toBe(404);
    // jira.js routed the string to REST v2, once.
    expect(jira.requestCount("/rest/api/2/issue") - posts).toBe(1);
    expect(jira.issues()).toHaveLength(before);
    // The same string straight to v3 is what Jira v3 refuses: rich text must be a document there.
    const raw = await fetch(`${jira.url}/rest/api/3/issue`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${jira.email}:${jira.apiToken}`).toString("base64")}`,
      },
      body: JSON.stringify({ fields: fields({ description: "h2. Not ADF" }) }),
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as JiraError["data"]).errors.description).toMatch(
      /^Operation value must be an Atlassian Document/,
    );
    expect(jira.issues()).toHaveLength(before);
  });

  it("adds comments in ADF and lists them", async () => {
    const { key } = await jc.issues.createIssue({ fields: fields({ summary: "Comment target" }) });
    const c = await jc.issueComments.addComment({
      issueIdOrKey: key,
      body: doc("Called the customer back."),
    });
    expect(c.id).toMatch(/^\d+$/);
    expect(c.body).toEqual(doc("Called the customer back."));
    // jira.js 6 reads a comment's timestamps into Dates.
    expect(c.created).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - c.created!.getTime())).toBeLessThan(60_000);
    expect(c.author?.accountId).toEqual(expect.any(String));
    await jc.issueComments.addComment({ issueIdOrKey: key, body: doc("Shipment re-routed.") });

    const list = await jc.issueComments.getComments({ issueIdOrKey: key });
    expect(list.total).toBe(2);
    expect(list.comments?.map((x) => x.id)).toEqual([c.id, expect.any(String)]);
    const newest = await jc.issueComments.getComments({
      issueIdOrKey: key,
      orderBy: "-created",
      maxResults: 1,
    });
    expect(newest).toMatchObject({ startAt: 0, maxResults: 1, total: 2 });
    expect(newest.comments?.map((x) => x.body)).toEqual([doc("Shipment re-routed.")]);
    expect(jira.issues().find((i) => i.key === key)?.comments).toBe(2);
    expect(await keysOf(jc, `text ~ ${jqlString("re-routed")}`)).toEqual([key]);
    // On the wire the timestamps are Jira's format.
    const wire = fieldsOf(await jc.issues.getIssue({ issueIdOrKey: key, fields: ["comment"] }));
    expect(wire.comment.comments.map((x) => x.created)).toEqual([
      expect.stringMatching(JIRA_TIME),
      expect.stringMatching(JIRA_TIME),
    ]);

    const bad = await jiraError(
      jc.issueComments.addComment({
        issueIdOrKey: key,
        body: { type: "text", text: "x" } as unknown as Document,
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.data.errors.comment).toMatch(/^Operation value must be an Atlassian Document/);
    expect(jira.issues().find((i) => i.key === key)?.comments).toBe(2);
  });

  it("lists the global transitions and moves an issue through them", async () => {
    const { key } = await jc.issues.createIssue({ fields: fields({ summary: "Transition target" }) });
    const t = await jc.issues.getTransitions({ issueIdOrKey: key });
    expect(t.transitions?.map((x) => ({ id: x.id, name: x.name }))).toEqual([
      { id: "11", name: "To Do" },
      { id: "21", name: "In Progress" },
      { id: "31", name: "Done" },
    ]);
    expect(t.transitions?.[2]?.to?.name).toBe("Done");
    await jc.issues.doTransition({ issueIdOrKey: key, transition: { id: "31" } });
    const moved = await jc.issues.getIssue({ issueIdOrKey: key, fields: ["status"] });
    expect(fieldsOf(moved).status.name).toBe("Done");
    expect(await keysOf(jc, `key = ${key} AND status = Done`)).toEqual([key]);

    const e = await jiraError(jc.issues.doTransition({ issueIdOrKey: key, transition: { id: "99" } }));
    expect(e.status).toBe(400);
    expect(e.data.errorMessages).toEqual(["Transition id '99' is not valid for this issue."]);
  });
});

describe("Jira sandbox through jira.js 6: enhanced JQL search", () => {
  it("pages with nextPageToken until isLast, returning every issue exactly once", async () => {
    const all = jira.issues().map((i) => i.key);
    const { keys, pages } = await searchAll(jc, "project in (SUP, NAS, OPS) ORDER BY key ASC", 3);
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(keys).toHaveLength(all.length);
    expect(new Set(keys)).toEqual(new Set(all));
    const projectOrder = (k: string) => ["NAS", "OPS", "SUP"].indexOf(k.split("-")[0]!);
    expect(keys).toEqual(
      [...keys].sort(
        (a, b) => projectOrder(a) - projectOrder(b) || Number(a.split("-")[1]) - Number(b.split("-")[1]),
      ),
    );
  });

  it("returns ids only unless fields are asked for, on GET and POST alike", async () => {
    const get = await jc.issueSearch.searchAndReconsileIssuesUsingJql({ jql: "key = SUP-1" });
    expect(get.issues).toEqual([{ id: jira.issues()[0]!.id }]);
    expect(get.isLast).toBe(true);
    const post = await jc.issueSearch.searchAndReconsileIssuesUsingJqlPost({
      jql: "key = SUP-1",
      fields: ["summary", "labels"],
    });
    expect(post.issues?.[0]).toMatchObject({
      key: "SUP-1",
      fields: { labels: ["customer-emea", "shipping"] },
    });
    expect(Object.keys(post.issues?.[0]?.fields ?? {}).sort()).toEqual(["labels", "summary"]);
  });

  it("combines project lists, labels, NOT and parentheses", async () => {
    const label = "jql-mix";
    const make = (project: string) =>
      jc.issues.createIssue({
        fields: fields({ project: { key: project }, labels: [label], summary: `mix ${project}` }),
      });
    const sup = await make("SUP");
    const ops = await make("OPS");
    await make("NAS");
    expect(await keysOf(jc, `project in (SUP, OPS) AND labels = ${jqlString(label)}`)).toEqual([
      sup.key,
      ops.key,
    ]);
    expect(await keysOf(jc, `labels = ${label} AND NOT (project = SUP OR project = NAS)`)).toEqual([ops.key]);
    // Seeded data only (created before the tests ran).
    expect(
      await keysOf(jc, 'project = SUP AND created < "2025-12-31" AND (status = Done OR labels = billing)'),
    ).toEqual(["SUP-2", "SUP-3"]);
    expect(
      await keysOf(jc, 'created >= "2025-02-01" AND created < "2025-03-01" ORDER BY created DESC'),
    ).toEqual(["NAS-2", "SUP-2", "OPS-1"]);
  });

  it("finds an issue by an entity property value", async () => {
    const { key } = await jc.issues.createIssue({
      fields: fields({ summary: "Property lookup target" }),
      properties: [{ key: "gatehouse", value: { draftId: "d-1" } }],
    });
    await jc.issues.createIssue({
      fields: fields({ summary: "Another draft" }),
      properties: [{ key: "gatehouse", value: { draftId: "d-10" } }],
    });
    expect(await keysOf(jc, 'issue.property[gatehouse].draftId = "d-1"')).toEqual([key]);
    const withProps = await jc.issueSearch.searchAndReconsileIssuesUsingJql({
      jql: 'issue.property[gatehouse].draftId = "d-1"',
      properties: ["gatehouse"],
    });
    expect(withProps.issues?.[0]?.properties).toEqual({ gatehouse: { draftId: "d-1" } });
  });

  it("matches quoted values with escaped quotes exactly", async () => {
    const summary = 'Printer says "PC LOAD LETTER" again';
    const { key } = await jc.issues.createIssue({ fields: fields({ summary }) });
    expect(await keysOf(jc, `summary ~ ${jqlString('"PC LOAD LETTER"')}`)).toEqual([key]);
    expect(await keysOf(jc, String.raw`summary ~ "says \"pc load"`)).toEqual([key]);
    expect(await keysOf(jc, `summary ~ 'says "PC'`)).toEqual([key]);
  });

  it("does not let a quoted value widen the query (the naive concatenation does)", async () => {
    const nasIssues = jira.issues().filter((i) => i.projectKey === "NAS").length;
    const hostile = 'SUP" OR project = "NAS';

    // Concatenated without escaping, the value rewrites the query: NAS issues leak in.
    const naive = await keysOf(jc, `project = "${hostile}"`);
    expect(naive.filter((k) => k?.startsWith("NAS-"))).toHaveLength(nasIssues);

    // Quoted properly it is one (non-existent) project name: Jira answers 400, nothing widens.
    const e = await jiraError(keysOf(jc, `project = ${jqlString(hostile)}`));
    expect(e.status).toBe(400);
    expect(e.data.errorMessages).toEqual([`The value '${hostile}' does not exist for the field 'project'.`]);

    // On a free-valued field the quoted value matches literally, i.e. nothing.
    const hostileLabel = 'x" OR labels = "billing';
    expect((await keysOf(jc, `labels = "${hostileLabel}"`)).length).toBeGreaterThan(0);
    expect(await keysOf(jc, `labels = ${jqlString(hostileLabel)}`)).toEqual([]);
  });

  it("answers invalid and unbounded JQL with 400 and Jira's messages", async () => {
    const syntax = await jiraError(keysOf(jc, "project = SUP AND status"));
    expect(syntax.status).toBe(400);
    expect(syntax.data.errorMessages).toHaveLength(1);
    expect(syntax.data.errorMessages[0]).toMatch(
      /^Error in the JQL Query: Expecting operator before the end of the query\. .*\(line 1, character 25\)$/,
    );
    const token = await jiraError(keysOf(jc, "project = SUP labels = x"));
    expect(token.data.errorMessages).toEqual([
      "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'labels'. (line 1, character 15)",
    ]);
    const field = await jiraError(keysOf(jc, "nosuch = 1"));
    expect(field.data.errorMessages).toEqual([
      "Field 'nosuch' does not exist or you do not have permission to view it.",
    ]);
    for (const jql of ["", "ORDER BY created DESC"]) {
      const e = await jiraError(keysOf(jc, jql));
      expect(e.status).toBe(400);
      expect(e.data.errorMessages).toEqual([
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
      ]);
    }
    const badToken = await jiraError(
      jc.issueSearch.searchAndReconsileIssuesUsingJql({ jql: "project = SUP", nextPageToken: "bogus" }),
    );
    expect(badToken.status).toBe(400);
  });

  it("answers the removed /rest/api/3/search with 410 on GET and POST", async () => {
    // jira.js 6 has no endpoint function for it any more; its low-level client still reaches it.
    const c = lowLevel(jira);
    for (const call of [
      c.sendRequest({ url: "/rest/api/3/search", method: "GET", searchParams: { jql: "project = SUP" } }),
      c.sendRequest({ url: "/rest/api/3/search", method: "POST", body: { jql: "project = SUP" } }),
    ]) {
      const e = await jiraError(call);
      expect(e.status).toBe(410);
      expect(e.data).toEqual({ errorMessages: [REMOVED], errors: {} });
    }
  });
});

describe("Jira sandbox: authentication and rate limits", () => {
  it("refuses a wrong API token and a request without credentials with 401", async () => {
    const before = jira.requestCount("/rest/api/3/project/SUP");
    const e = await jiraError(
      client(jira, { apiToken: "wrong" }).projects.getProject({ projectIdOrKey: "SUP" }),
    );
    expect(e.status).toBe(401);
    expect(e.error.name).toBe("AuthError");
    expect(e.data).toEqual({
      errorMessages: ["Client must be authenticated to access this resource."],
      errors: {},
    });
    // Basic auth: jira.js does not ask again on a 401.
    expect(jira.requestCount("/rest/api/3/project/SUP") - before).toBe(1);
    const raw = await fetch(`${jira.url}/rest/api/3/project/SUP`);
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual({
      errorMessages: ["Client must be authenticated to access this resource."],
      errors: {},
    });
  });

  it("answers 429 with Retry-After and X-RateLimit headers past the per-minute limit", async () => {
    const limited = await startJiraSandbox({ port: 0, limits: { perMinute: 3 } });
    try {
      const lc = client(limited);
      for (let i = 0; i < 3; i++) await lc.issuePriorities.searchPriorities();
      const e = await jiraError(lc.issuePriorities.searchPriorities());
      expect(e.status).toBe(429);
      expect(isRateLimitError(e.error)).toBe(true);
      expect(e.data).toEqual({ errorMessages: ["Rate limit exceeded."], errors: {} });
      // jira.js reads Retry-After (seconds) into retryAfterMs.
      const retryAfterMs = isRateLimitError(e.error) ? e.error.retryAfterMs : undefined;
      expect(retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(retryAfterMs! % 1000).toBe(0);
      // jira.js does not retry: one call, one request.
      expect(limited.requestCount("/rest/api/3/priority")).toBe(4);
      // The headers themselves (jira.js keeps only Retry-After).
      const raw = await fetch(`${limited.url}/rest/api/3/priority/search`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${limited.email}:${limited.apiToken}`).toString("base64")}`,
        },
      });
      expect(raw.status).toBe(429);
      const retryAfter = Number(raw.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(raw.headers.get("x-ratelimit-limit")).toBe("3");
      expect(raw.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(Date.parse(raw.headers.get("x-ratelimit-reset")!)).toBeGreaterThan(Date.now());
      limited.resetRateLimits();
      expect((await lc.issuePriorities.searchPriorities()).values).toHaveLength(5);
    } finally {
      await limited.close();
    }
  });
});

describe("Jira sandbox: fault injection", () => {
  it("delays matching requests by the latency fault", async () => {
    jira.faults.set({ kind: "latency", ms: 200, path: "/rest/api/3/priority" });
    const t0 = Date.now();
    await jc.issuePriorities.searchPriorities();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const t1 = Date.now();
    await jc.projects.getProject({ projectIdOrKey: "SUP" });
    expect(Date.now() - t1).toBeLessThan(190);
  });

  it("answers status faults with Jira bodies, scoped by path, method and times, and jira.js does not retry", async () => {
    jira.faults.set([
      { kind: "status", status: 429, retryAfterSeconds: 7, path: "/rest/api/3/priority", times: 1 },
      { kind: "status", status: 503, path: "/rest/api/3/issue", method: "POST", times: 1 },
      { kind: "status", status: 500, path: "/rest/api/3/project", times: 1 },
    ]);
    const limited = await jiraError(jc.issuePriorities.searchPriorities());
    expect(limited.status).toBe(429);
    expect(isRateLimitError(limited.error) && limited.error.retryAfterMs).toBe(7000);
    expect(limited.data).toEqual({ errorMessages: ["Rate limit exceeded."], errors: {} });

    // A GET under the POST-scoped prefix is unaffected.
    expect((await jc.issues.getIssue({ issueIdOrKey: "SUP-1" })).key).toBe("SUP-1");
    const before = jira.issues().length;
    const posts = jira.requestCount("/rest/api/3/issue");
    const unavailable = await jiraError(jc.issues.createIssue({ fields: fields({ summary: "never" }) }));
    expect(unavailable.status).toBe(503);
    expect(unavailable.error.name).toBe("ServerError");
    expect(unavailable.data).toEqual({ errorMessages: ["Service Unavailable"], errors: {} });
    // 503 is one of the statuses jira.js could retry; out of the box it does not.
    expect(jira.requestCount("/rest/api/3/issue") - posts).toBe(1);
    expect(jira.issues()).toHaveLength(before);

    const broken = await jiraError(jc.projects.getProject({ projectIdOrKey: "SUP" }));
    expect(broken.status).toBe(500);
    expect(broken.data.errorMessages).toEqual(["Internal server error"]);
    // Each fault had times: 1.
    expect(jira.faults.active()).toEqual([]);
    expect((await jc.projects.getProject({ projectIdOrKey: "SUP" })).key).toBe("SUP");
  });

  it("holds a request on a timeout fault: the caller's abort ends it and nothing is applied", async () => {
    jira.faults.set({ kind: "timeout", path: "/rest/api/3/issue", method: "POST" });
    const before = jira.issues().length;
    const posts = jira.requestCount("/rest/api/3/issue");
    const t0 = Date.now();
    const e = await abortable(jira, AbortSignal.timeout(300))
      .issues.createIssue({ fields: fields({ summary: "held" }) })
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    expect(e?.name).toBe("TimeoutError");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(jira.requestCount("/rest/api/3/issue") - posts).toBe(1);
    // Clearing the fault releases a request still held, and it is then applied (the next test). The aborted
    // one is gone once the stand-in has seen its connection close, so clearing applies nothing.
    await new Promise((r) => setTimeout(r, 100));
    jira.faults.clear();
    await new Promise((r) => setTimeout(r, 100));
    expect(jira.issues()).toHaveLength(before);
  });

  it("answers a timeout fault normally once cleared, if the caller is still waiting", async () => {
    jira.faults.set({ kind: "timeout", path: "/rest/api/3/issue", method: "POST" });
    const before = jira.issues().length;
    const call = jc.issues.createIssue({ fields: fields({ summary: "held, then let through" }) });
    await new Promise((r) => setTimeout(r, 150));
    expect(jira.issues()).toHaveLength(before);
    jira.faults.clear();
    expect((await call).key).toBe(jira.issues()[before]!.key);
  });

  it("answers a malformed body: jira.js 6 hands it back as a string, or throws SchemaMismatchError if told to", async () => {
    jira.faults.set({ kind: "malformed", path: "/rest/api/3/priority", times: 2 });
    // Out of the box ('warn', here 'silent'), the unparseable body comes back as the raw text, unvalidated.
    const result: unknown = await client(jira, {
      onSchemaMismatch: "silent",
    }).issuePriorities.searchPriorities();
    expect(typeof result).toBe("string");
    expect(() => JSON.parse(result as string)).toThrow();
    // Strict, it is a SchemaMismatchError naming the response root, never an ApiError.
    let thrown: unknown;
    await jc.issuePriorities.searchPriorities().catch((e: unknown) => {
      thrown = e;
    });
    expect(isSchemaMismatchError(thrown)).toBe(true);
    expect(isApiError(thrown)).toBe(false);
    expect((thrown as SchemaMismatchError).report).toMatchObject({
      endpoint: "GET /rest/api/3/priority/search",
      issues: [{ path: "", received: "string" }],
    });
    expect(jira.faults.active()).toEqual([]);
    expect((await jc.issuePriorities.searchPriorities()).total).toBe(5);
  });

  it("commit-then-timeout: the issue is created but no answer comes until the fault is cleared", async () => {
    jira.faults.set({ kind: "commit-then-timeout", path: "/rest/api/3/issue", method: "POST", times: 1 });
    const before = jira.issues().length;
    const call = jc.issues.createIssue({
      fields: fields({ summary: "Committed, answer lost" }),
      properties: [{ key: "gatehouse", value: { draftId: "d-commit-timeout" } }],
    });
    const outcome = await Promise.race([
      call.then(() => "answered" as const),
      new Promise<"abandoned">((resolve) => setTimeout(() => resolve("abandoned"), 400)),
    ]);
    expect(outcome).toBe("abandoned");
    const after = jira.issues();
    expect(after).toHaveLength(before + 1);
    const created = after[after.length - 1]!;
    expect(created).toMatchObject({
      summary: "Committed, answer lost",
      properties: { gatehouse: { draftId: "d-commit-timeout" } },
    });
    // A retrying sender can find what it already created.
    expect(await keysOf(jc, `issue.property[gatehouse].draftId = ${jqlString("d-commit-timeout")}`)).toEqual([
      created.key,
    ]);
    // Clearing releases the held answer to the still-waiting call.
    jira.faults.clear();
    expect((await call).key).toBe(created.key);
  });

  it("commit-then-timeout with a caller that gives up: applied all the same, and the abort is all it sees", async () => {
    jira.faults.set({ kind: "commit-then-timeout", path: "/rest/api/3/issue", method: "POST", times: 1 });
    const before = jira.issues().length;
    const e = await abortable(jira, AbortSignal.timeout(300))
      .issues.createIssue({
        fields: fields({ summary: "Committed, caller gone" }),
        properties: [{ key: "gatehouse", value: { draftId: "d-commit-abort" } }],
      })
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    expect(e?.name).toBe("TimeoutError");
    expect(jira.issues()).toHaveLength(before + 1);
    expect(await keysOf(jc, 'issue.property[gatehouse].draftId = "d-commit-abort"')).toEqual([
      jira.issues()[before]!.key,
    ]);
  });

  it("commit-then-drop: the issue is created and the connection is reset without an answer", async () => {
    jira.faults.set({ kind: "commit-then-drop", path: "/rest/api/3/issue", method: "POST", times: 1 });
    const before = jira.issues().length;
    const posts = jira.requestCount("/rest/api/3/issue");
    const e = await transportError(
      jc.issues.createIssue({
        fields: fields({ summary: "Committed, connection dropped" }),
        properties: [{ key: "gatehouse", value: { draftId: "d-commit-drop" } }],
      }),
    );
    expect(e.code).toBe("UND_ERR_SOCKET");
    // A dropped connection is transient to jira.js, yet out of the box nothing is sent again.
    expect(e.transient).toBe(true);
    expect(jira.requestCount("/rest/api/3/issue") - posts).toBe(1);
    expect(jira.issues()).toHaveLength(before + 1);
    expect(await keysOf(jc, 'issue.property[gatehouse].draftId = "d-commit-drop"')).toEqual([
      jira.issues()[before]!.key,
    ]);
  });

  it("takes the same faults over HTTP on /__sandbox/faults", async () => {
    const post = (body: unknown) =>
      fetch(`${jira.url}/__sandbox/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const fault: JiraFault = { kind: "status", status: 503, path: "/rest/api/3/project", times: 1 };
    const set = await post(fault);
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ active: [fault] });
    expect((await jiraError(jc.projects.getProject({ projectIdOrKey: "SUP" }))).status).toBe(503);
    expect((await jc.projects.getProject({ projectIdOrKey: "SUP" })).key).toBe("SUP");

    const bad = await post({ kind: "status", status: 418 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(
      /status must be one of 429, 500, 503/,
    );

    await post([{ kind: "commit-then-drop" }]);
    expect((await fetch(`${jira.url}/__sandbox/faults`, { method: "DELETE" })).status).toBe(204);
    expect(jira.faults.active()).toEqual([]);

    const listed = (await (await fetch(`${jira.url}/__sandbox/issues`)).json()) as {
      issues: Array<{ key: string }>;
    };
    expect(listed.issues.map((i) => i.key)).toEqual(jira.issues().map((i) => i.key));
  });

  it("closes with requests still held", async () => {
    const s = await startJiraSandbox({ port: 0 });
    s.faults.set({ kind: "commit-then-timeout" });
    const call = client(s).issues.createIssue({ fields: fields({ summary: "held at close" }) });
    const settled = call.then(
      () => "answered",
      (e: unknown) => (isNetworkError(e) ? e.code : String(e)),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(s.issues().at(-1)?.summary).toBe("held at close");
    await s.close();
    expect(await settled).toBe("UND_ERR_SOCKET");
  });
});
