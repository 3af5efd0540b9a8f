import { HttpException, Version3Client, type Version3Models } from "jira.js";
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

/** What a failed jira.js call surfaces: HttpException's status, the Jira body, and the response headers. */
interface JiraError {
  status: number;
  data: { errorMessages: string[]; errors: Record<string, string> };
  headers: Record<string, string>;
}

/** jira.js 5.4 throws HttpException for any HTTP error answer; the body is `response.data`, headers are on the cause. */
async function jiraError(p: Promise<unknown>): Promise<JiraError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HttpException);
    const err = e as HttpException;
    const response = err.response as { data: JiraError["data"]; status: number };
    expect(response.status).toBe(err.status);
    const cause = err.cause as { response?: { headers?: Record<string, string> } };
    return { status: err.status, data: response.data, headers: { ...cause.response?.headers } };
  }
  throw new Error("expected the call to fail");
}

/** What jira.js throws when no HTTP answer arrives: the AxiosError itself (not an HttpException). */
async function transportError(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).not.toBeInstanceOf(HttpException);
    expect((e as { isAxiosError?: boolean }).isAxiosError).toBe(true);
    return e as { code?: string; message: string };
  }
  throw new Error("expected the call to fail");
}

const client = (s: RunningJira, extra: { apiToken?: string; timeoutMs?: number } = {}) =>
  new Version3Client({
    host: s.url,
    authentication: { basic: { email: s.email, apiToken: extra.apiToken ?? s.apiToken } },
    ...(extra.timeoutMs ? { baseRequestConfig: { timeout: extra.timeoutMs } } : {}),
  });

const doc = (...paragraphs: string[]): Version3Models.Document => ({
  type: "doc",
  version: 1,
  content: paragraphs.map((text) => ({ type: "paragraph", content: [{ type: "text", text }] })),
});

type CreateFields = Parameters<Version3Client["issues"]["createIssue"]>[0]["fields"];
const fields = (over: Partial<CreateFields> = {}): CreateFields => ({
  project: { key: "SUP" },
  issuetype: { name: "Task" },
  summary: "Customer cannot open the shipment tracking page",
  description: doc("The tracking link from the confirmation email returns 404."),
  ...over,
});

/** Every issue a JQL query matches, following nextPageToken until isLast; also the number of pages. */
async function searchAll(c: Version3Client, jql: string, maxResults: number) {
  const keys: string[] = [];
  let nextPageToken: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await c.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
      jql,
      maxResults,
      fields: ["summary"],
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    pages++;
    keys.push(...(page.issues ?? []).map((i) => i.key));
    const isLast = (page as { isLast?: boolean }).isLast;
    if (isLast) {
      expect(page.nextPageToken).toBeUndefined();
      return { keys, pages };
    }
    expect(page.nextPageToken).toEqual(expect.any(String));
    nextPageToken = page.nextPageToken;
  }
}

const keysOf = async (c: Version3Client, jql: string) =>
  (
    await c.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql, fields: ["summary"], maxResults: 100 })
  ).issues?.map((i) => i.key) ?? [];

let jira: RunningJira;
let jc: Version3Client;
beforeAll(async () => {
  jira = await startJiraSandbox({ port: 0, limits: { perMinute: 100_000 } });
  jc = client(jira);
});
afterAll(() => jira.close());
afterEach(() => jira.faults.clear());

describe("Jira sandbox through jira.js: projects, issues, properties, comments, transitions", () => {
  it("uses the documented default credentials", () => {
    expect(jira.email).toBe(JIRA_SANDBOX_EMAIL);
    expect(jira.apiToken).toBe(JIRA_SANDBOX_API_TOKEN);
    expect(jira.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("describes a project with its issue types, and 404s an unknown one", async () => {
    const p = await jc.projects.getProject({ projectIdOrKey: "SUP" });
    expect(p).toMatchObject({ id: "10000", key: "SUP", name: "Support EMEA" });
    expect(p.issueTypes?.map((t) => [t.id, t.name, t.subtask])).toEqual([
      ["10001", "Task", false],
      ["10002", "Bug", false],
      ["10003", "Incident", false],
    ]);
    expect((await jc.projects.getProject("NAS")).name).toBe("Support NA");
    expect((await jc.projects.getProject("10002")).key).toBe("OPS");
    const e = await jiraError(jc.projects.getProject("NOPE"));
    expect(e.status).toBe(404);
    expect(e.data).toEqual({ errorMessages: ["No project could be found with key 'NOPE'."], errors: {} });
  });

  it("lists the five priorities", async () => {
    const priorities = await jc.issuePriorities.getPriorities();
    expect(priorities.map((p) => p.name)).toEqual(["Highest", "High", "Medium", "Low", "Lowest"]);
  });

  it("serves the seeded issues with Jira's issue shape", async () => {
    const seeded = jira
      .issues()
      .filter((i) => ["SUP-1", "SUP-2", "SUP-3", "NAS-1", "NAS-2", "OPS-1"].includes(i.key));
    expect(seeded).toHaveLength(6);
    const i = await jc.issues.getIssue({ issueIdOrKey: "SUP-3" });
    expect(i.key).toBe("SUP-3");
    expect(i.fields.status.name).toBe("Done");
    expect(i.fields.issuetype?.name).toBe("Incident");
    expect(i.fields.project.key).toBe("SUP");
    expect(i.fields.description).toMatchObject({ type: "doc", version: 1 });
    expect(i.fields.comment.total).toBe(2);
    expect(i.fields.created).toMatch(JIRA_TIME);
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
    expect(issue.fields.summary).toBe("Nordlicht asks for a delivery-date correction");
    expect(issue.fields.description).toEqual(description);
    expect(issue.fields.labels).toEqual(["customer-emea", "gatehouse"]);
    expect(issue.fields.priority.name).toBe("High");
    expect(issue.fields.issuetype?.name).toBe("Task");
    expect(issue.fields.project.key).toBe("SUP");
    expect(issue.fields.status.name).toBe("To Do");
    expect(issue.fields.created).toMatch(JIRA_TIME);
    expect(issue.fields.updated).toMatch(JIRA_TIME);

    // By id, with a field subset and the property inlined.
    const slim = await jc.issues.getIssue({
      issueIdOrKey: created.id,
      fields: ["summary"],
      properties: ["gatehouse"],
    });
    expect(Object.keys(slim.fields)).toEqual(["summary"]);
    expect(slim.properties).toEqual({ gatehouse: { draftId: "d-create", approvedBy: "u-2" } });

    const prop = await jc.issueProperties.getIssueProperty({
      issueIdOrKey: created.key,
      propertyKey: "gatehouse",
    });
    expect(prop).toEqual({ key: "gatehouse", value: { draftId: "d-create", approvedBy: "u-2" } });

    await jc.issueProperties.setIssueProperty({
      issueIdOrKey: created.key,
      propertyKey: "gatehouse.audit",
      propertyValue: { eventId: "ev-1" },
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
    const notAdf = {
      type: "paragraph",
      content: [{ type: "text", text: "plain" }],
    } as Version3Models.Document;
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

  it("adds comments in ADF and lists them", async () => {
    const { key } = await jc.issues.createIssue({ fields: fields({ summary: "Comment target" }) });
    const c = await jc.issueComments.addComment({
      issueIdOrKey: key,
      comment: doc("Called the customer back."),
    });
    expect(c.id).toMatch(/^\d+$/);
    expect(c.body).toEqual(doc("Called the customer back."));
    expect(c.created).toMatch(JIRA_TIME);
    await jc.issueComments.addComment({ issueIdOrKey: key, comment: doc("Shipment re-routed.") });

    const list = await jc.issueComments.getComments({ issueIdOrKey: key });
    expect(list.total).toBe(2);
    expect(list.comments?.map((x) => x.id)).toEqual([c.id, expect.any(String)]);
    expect(jira.issues().find((i) => i.key === key)?.comments).toBe(2);
    expect(await keysOf(jc, `text ~ ${jqlString("re-routed")}`)).toEqual([key]);

    const bad = await jiraError(
      jc.issueComments.addComment({
        issueIdOrKey: key,
        comment: { type: "text", text: "x" } as Version3Models.Document,
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.data.errors.comment).toMatch(/^Operation value must be an Atlassian Document/);
  });

  it("lists the global transitions and moves an issue through them", async () => {
    const { key } = await jc.issues.createIssue({ fields: fields({ summary: "Transition target" }) });
    const t = await jc.issues.getTransitions({ issueIdOrKey: key });
    expect(t.transitions?.map((x) => ({ id: x.id, name: x.name }))).toEqual([
      { id: "11", name: "To Do" },
      { id: "21", name: "In Progress" },
      { id: "31", name: "Done" },
    ]);
    await jc.issues.doTransition({ issueIdOrKey: key, transition: { id: "31" } });
    expect((await jc.issues.getIssue({ issueIdOrKey: key, fields: ["status"] })).fields.status.name).toBe(
      "Done",
    );
    expect(await keysOf(jc, `key = ${key} AND status = Done`)).toEqual([key]);

    const e = await jiraError(jc.issues.doTransition({ issueIdOrKey: key, transition: { id: "99" } }));
    expect(e.status).toBe(400);
    expect(e.data.errorMessages).toEqual(["Transition id '99' is not valid for this issue."]);
  });
});

describe("Jira sandbox through jira.js: enhanced JQL search", () => {
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
    const get = await jc.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: "key = SUP-1" });
    expect(get.issues).toEqual([{ id: jira.issues()[0]!.id }]);
    expect((get as { isLast?: boolean }).isLast).toBe(true);
    const post = await jc.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({
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
    const withProps = await jc.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
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
    expect(naive.filter((k) => k.startsWith("NAS-"))).toHaveLength(nasIssues);

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
      jc.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: "project = SUP", nextPageToken: "bogus" }),
    );
    expect(badToken.status).toBe(400);
  });

  it("answers the removed /rest/api/3/search with 410 on GET and POST", async () => {
    for (const call of [
      jc.issueSearch.searchForIssuesUsingJql({ jql: "project = SUP" }),
      jc.issueSearch.searchForIssuesUsingJqlPost({ jql: "project = SUP" }),
    ]) {
      const e = await jiraError(call);
      expect(e.status).toBe(410);
      expect(e.data).toEqual({ errorMessages: [REMOVED], errors: {} });
    }
  });
});

describe("Jira sandbox: authentication and rate limits", () => {
  it("refuses a wrong API token and a request without credentials with 401", async () => {
    const e = await jiraError(client(jira, { apiToken: "wrong" }).projects.getProject("SUP"));
    expect(e.status).toBe(401);
    expect(e.data).toEqual({
      errorMessages: ["Client must be authenticated to access this resource."],
      errors: {},
    });
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
      for (let i = 0; i < 3; i++) await lc.issuePriorities.getPriorities();
      const e = await jiraError(lc.issuePriorities.getPriorities());
      expect(e.status).toBe(429);
      expect(e.data).toEqual({ errorMessages: ["Rate limit exceeded."], errors: {} });
      const retryAfter = Number(e.headers["retry-after"]);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(e.headers["x-ratelimit-limit"]).toBe("3");
      expect(e.headers["x-ratelimit-remaining"]).toBe("0");
      expect(Date.parse(e.headers["x-ratelimit-reset"]!)).toBeGreaterThan(Date.now());
      // jira.js does not retry: one call, one request.
      expect(limited.requestCount("/rest/api/3/priority")).toBe(4);
      limited.resetRateLimits();
      expect(await lc.issuePriorities.getPriorities()).toHaveLength(5);
    } finally {
      await limited.close();
    }
  });
});

describe("Jira sandbox: fault injection", () => {
  it("delays matching requests by the latency fault", async () => {
    jira.faults.set({ kind: "latency", ms: 200, path: "/rest/api/3/priority" });
    const t0 = Date.now();
    await jc.issuePriorities.getPriorities();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const t1 = Date.now();
    await jc.projects.getProject("SUP");
    expect(Date.now() - t1).toBeLessThan(190);
  });

  it("answers status faults with Jira bodies, scoped by path, method and times, and jira.js does not retry", async () => {
    jira.faults.set([
      { kind: "status", status: 429, retryAfterSeconds: 7, path: "/rest/api/3/priority", times: 1 },
      { kind: "status", status: 503, path: "/rest/api/3/issue", method: "POST", times: 1 },
      { kind: "status", status: 500, path: "/rest/api/3/project", times: 1 },
    ]);
    const limited = await jiraError(jc.issuePriorities.getPriorities());
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("7");
    expect(limited.data).toEqual({ errorMessages: ["Rate limit exceeded."], errors: {} });

    // A GET under the POST-scoped prefix is unaffected.
    expect((await jc.issues.getIssue({ issueIdOrKey: "SUP-1" })).key).toBe("SUP-1");
    const before = jira.issues().length;
    const posts = jira.requestCount("/rest/api/3/issue");
    const unavailable = await jiraError(jc.issues.createIssue({ fields: fields({ summary: "never" }) }));
    expect(unavailable.status).toBe(503);
    expect(jira.requestCount("/rest/api/3/issue") - posts).toBe(1);
    expect(jira.issues()).toHaveLength(before);

    const broken = await jiraError(jc.projects.getProject("SUP"));
    expect(broken.status).toBe(500);
    expect(broken.data.errorMessages).toEqual(["Internal server error"]);
    // Each fault had times: 1.
    expect(jira.faults.active()).toEqual([]);
    expect((await jc.projects.getProject("SUP")).key).toBe("SUP");
  });

  it("holds a request on a timeout fault: the client's own timeout fires and nothing is applied", async () => {
    jira.faults.set({ kind: "timeout", path: "/rest/api/3/issue", method: "POST" });
    const before = jira.issues().length;
    const e = await transportError(
      client(jira, { timeoutMs: 300 }).issues.createIssue({ fields: fields({ summary: "held" }) }),
    );
    expect(e.code).toBe("ECONNABORTED");
    jira.faults.clear();
    expect(jira.issues()).toHaveLength(before);
  });

  it("answers a malformed body that jira.js hands back as a string instead of throwing", async () => {
    jira.faults.set({ kind: "malformed", path: "/rest/api/3/priority", times: 1 });
    const result: unknown = await jc.issuePriorities.getPriorities();
    expect(typeof result).toBe("string");
    expect(() => JSON.parse(result as string)).toThrow();
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

  it("commit-then-drop: the issue is created and the connection is reset without an answer", async () => {
    jira.faults.set({ kind: "commit-then-drop", path: "/rest/api/3/issue", method: "POST", times: 1 });
    const before = jira.issues().length;
    const e = await transportError(
      jc.issues.createIssue({
        fields: fields({ summary: "Committed, connection dropped" }),
        properties: [{ key: "gatehouse", value: { draftId: "d-commit-drop" } }],
      }),
    );
    expect(e.code).toBe("ECONNRESET");
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
    expect((await jiraError(jc.projects.getProject("SUP"))).status).toBe(503);
    expect((await jc.projects.getProject("SUP")).key).toBe("SUP");

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
      (e: { code?: string }) => e.code,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(s.issues().at(-1)?.summary).toBe("held at close");
    await s.close();
    expect(await settled).toBe("ECONNRESET");
  });
});
