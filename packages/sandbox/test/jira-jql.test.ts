import { describe, expect, it } from "vitest";
import { buildJiraSeed } from "../src/jira/jira-seed.ts";
import { JqlSyntaxError, jqlString, parseJql, tokenize } from "../src/jira/jql.ts";
import {
  compileJql,
  decodePageToken,
  encodePageToken,
  JqlValidationError,
  parseJqlDate,
  type SearchableIssue,
  type SearchCatalog,
} from "../src/jira/search.ts";

const seed = buildJiraSeed();
const catalog: SearchCatalog = {
  projects: seed.projects,
  issueTypes: seed.issueTypes,
  statuses: seed.statuses,
  priorities: seed.priorities,
  issueKeyExists: (key) => ["SUP-1", "SUP-2", "NAS-1"].includes(key.toUpperCase()),
};

const issue = (over: Partial<SearchableIssue> & { key: string }): SearchableIssue => ({
  id: "10000",
  number: Number(over.key.split("-")[1]),
  projectId: seed.projects.find((p) => p.key === over.key.split("-")[0])!.id,
  issueTypeId: "10001",
  statusId: "10000",
  priorityId: "3",
  summary: "",
  descriptionText: "",
  commentTexts: [],
  labels: [],
  created: Date.UTC(2025, 0, 1),
  updated: Date.UTC(2025, 0, 1),
  properties: new Map(),
  ...over,
});

/** The message of the error a query throws. */
function syntaxError(jql: string): string {
  try {
    parseJql(jql);
  } catch (e) {
    expect(e).toBeInstanceOf(JqlSyntaxError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(jql)} to be rejected`);
}

function validationErrors(jql: string): string[] {
  try {
    compileJql(jql, catalog);
  } catch (e) {
    expect(e).toBeInstanceOf(JqlValidationError);
    return (e as JqlValidationError).messages;
  }
  throw new Error(`expected ${JSON.stringify(jql)} to be rejected`);
}

describe("JQL tokenizer and parser", () => {
  it("reads quoted strings in either quote with backslash escapes, and unquoted words", () => {
    const values = tokenize(String.raw`summary ~ "say \"hi\"\\now" OR labels = 'it\'s' AND key = SUP-1`)
      .filter((t) => t.kind === "string" || t.kind === "word")
      .map((t) => t.value);
    expect(values).toEqual(["summary", 'say "hi"\\now', "OR", "labels", "it's", "AND", "key", "SUP-1"]);
    expect(tokenize(String.raw`"tab\there\u0041"`)[0]!.value).toBe("tab\thereA");
  });

  it("binds AND tighter than OR, and honours NOT and parentheses", () => {
    const q = parseJql("project = SUP OR project = NAS AND NOT (labels = x OR labels in (y, z))");
    expect(q.where).toMatchObject({
      kind: "or",
      clauses: [
        { kind: "term", field: { name: "project" }, operator: "=", operand: { value: "SUP" } },
        {
          kind: "and",
          clauses: [
            { kind: "term", operand: { value: "NAS" } },
            {
              kind: "not",
              clause: {
                kind: "or",
                clauses: [
                  { kind: "term", operator: "=" },
                  {
                    kind: "term",
                    operator: "in",
                    operand: { kind: "list", values: [{ value: "y" }, { value: "z" }] },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    expect(parseJql("a = 1 && b = 2 || ! c = 3").where).toMatchObject({
      kind: "or",
      clauses: [{ kind: "and" }, { kind: "not" }],
    });
  });

  it("parses every operator, EMPTY, functions and ORDER BY", () => {
    const ops = (jql: string) => {
      const w = parseJql(jql).where!;
      return w.kind === "term" ? [w.operator, w.operand.kind] : [];
    };
    expect(ops("labels not in (a)")).toEqual(["not in", "list"]);
    expect(ops("labels is not EMPTY")).toEqual(["is not", "empty"]);
    expect(ops("labels IS null")).toEqual(["is", "empty"]);
    expect(ops("labels != EMPTY")).toEqual(["!=", "empty"]);
    expect(ops("summary !~ x")).toEqual(["!~", "value"]);
    expect(ops("created <= now()")).toEqual(["<=", "function"]);
    expect(parseJql("project = SUP order by priority DESC, key").orderBy).toMatchObject([
      { field: { name: "priority" }, direction: "desc" },
      { field: { name: "key" }, direction: "asc" },
    ]);
    expect(parseJql("ORDER BY key").where).toBeUndefined();
    expect(parseJql("   ").where).toBeUndefined();
  });

  it("reads issue.property[key].path as an entity-property field", () => {
    expect(parseJql('issue.property[gatehouse].draft.id = "d-1"').where).toMatchObject({
      field: { kind: "property", key: "gatehouse", path: ["draft", "id"] },
      operand: { value: "d-1" },
    });
    expect(parseJql("issue.property['odd key'] is EMPTY").where).toMatchObject({
      field: { kind: "property", key: "odd key", path: [] },
    });
  });

  it("reports syntax errors like Jira, naming the token and its position", () => {
    expect(syntaxError("project == SUP")).toBe(
      "Error in the JQL Query: Expecting either a value, list or function but got '='. (line 1, character 10)",
    );
    expect(syntaxError("project SUP")).toMatch(
      /^Error in the JQL Query: Expecting operator but got 'SUP'\. The valid operators are .* \(line 1, character 9\)$/,
    );
    expect(syntaxError('summary ~ "unterminated')).toBe(
      "Error in the JQL Query: The quoted string 'unterminated' has not been completed. (line 1, character 11)",
    );
    expect(syntaxError("project = SUP AND")).toBe(
      "Error in the JQL Query: Expecting a field name before the end of the query. (line 1, character 18)",
    );
    expect(syntaxError("project = SUP labels = x")).toBe(
      "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'labels'. (line 1, character 15)",
    );
    expect(syntaxError("(project = SUP")).toMatch(/Expecting '\)' .*\(line 1, character 15\)$/);
    expect(syntaxError("project = SUP)")).toMatch(/but got '\)'.*\(line 1, character 14\)$/);
    expect(syntaxError("labels = a#b")).toMatch(
      /The character '#' is a reserved JQL character.*character 11\)$/,
    );
    expect(syntaxError(String.raw`summary ~ "bad \q escape"`)).toMatch(/escape sequence '\\q'/);
    expect(syntaxError("labels in x")).toMatch(/Expecting '\(' but got 'x'/);
    expect(syntaxError("labels = and")).toMatch(/'and' is a reserved JQL word/);
    expect(syntaxError("labels in ()")).toMatch(/at least one value/);
    expect(syntaxError("project = SUP ORDER key")).toMatch(/Expecting 'BY' but got 'key'/);
    expect(syntaxError("project = SUP\nAND = x")).toMatch(/\(line 2, character 5\)$/);
  });

  it("quotes any value so that it parses back to exactly that value", () => {
    const nasty = [
      'SUP" OR project = "NAS',
      "it's",
      "back\\slash\\",
      "both ' and \"",
      "new\nline\ttab",
      "\u0001control",
      "unicodé ✓",
      "",
    ];
    for (const v of nasty) {
      const q = parseJql(`summary ~ ${jqlString(v)}`);
      expect(q.where).toMatchObject({ kind: "term", operand: { kind: "value", value: v } });
    }
  });
});

describe("JQL semantics", () => {
  const run = (jql: string, issues: SearchableIssue[]) => {
    const q = compileJql(jql, catalog, Date.UTC(2025, 5, 1));
    return issues
      .filter((i) => q.matches(i))
      .sort((a, b) => q.compare(a, b))
      .map((i) => i.key);
  };
  const sample = [
    issue({ id: "1", key: "SUP-1", labels: ["x", "billing"], summary: 'Printer says "PC LOAD LETTER"' }),
    issue({ id: "2", key: "SUP-2", priorityId: "1", statusId: "10001", created: Date.UTC(2025, 4, 30) }),
    issue({
      id: "3",
      key: "NAS-1",
      labels: ["X"],
      properties: new Map<string, unknown>([["gatehouse", { draftId: "d-1", tags: ["a", "b"], n: 7 }]]),
      descriptionText: "The invoice link fails",
      commentTexts: ["Carrier confirmed"],
    }),
  ];

  it("matches projects, keys, labels, statuses, types and priorities by key, id or name", () => {
    expect(run("project = sup", sample)).toEqual(["SUP-1", "SUP-2"]);
    expect(run('project in ("Support NA", 10000)', sample)).toEqual(["SUP-1", "SUP-2", "NAS-1"]);
    expect(run("project not in (SUP)", sample)).toEqual(["NAS-1"]);
    expect(run("key = sup-2 OR issuekey in (NAS-1)", sample)).toEqual(["SUP-2", "NAS-1"]);
    expect(run("labels = x", sample)).toEqual(["SUP-1", "NAS-1"]);
    expect(run("labels != billing", sample)).toEqual(["NAS-1"]); // no labels is neither = nor !=
    expect(run("labels is EMPTY", sample)).toEqual(["SUP-2"]);
    expect(run('status = "done"', sample)).toEqual(["SUP-2"]);
    expect(run("status != Done AND type = Task", sample)).toEqual(["SUP-1", "NAS-1"]);
    expect(run("priority = Highest", sample)).toEqual(["SUP-2"]);
  });

  it("searches text case-insensitively and looks up entity properties by path", () => {
    expect(run('summary ~ "\\"pc load"', sample)).toEqual(["SUP-1"]);
    expect(run("text ~ carrier", sample)).toEqual(["NAS-1"]);
    // Escaped quotes around the whole term make it a phrase: the quotes delimit, they are not searched for.
    expect(run('description ~ "\\"invoice link\\""', sample)).toEqual(["NAS-1"]);
    expect(run("description ~ INVOICE", sample)).toEqual(["NAS-1"]);
    expect(run("project = SUP AND summary !~ printer", sample)).toEqual(["SUP-2"]);
    expect(run('issue.property[gatehouse].draftId = "d-1"', sample)).toEqual(["NAS-1"]);
    expect(run('issue.property[gatehouse].draftId = "D-1"', sample)).toEqual([]);
    expect(run("issue.property[gatehouse].tags = b", sample)).toEqual(["NAS-1"]);
    expect(run("issue.property[gatehouse].n = 7", sample)).toEqual(["NAS-1"]);
    expect(run("issue.property[gatehouse].draftId != d-2", sample)).toEqual(["NAS-1"]);
    expect(run("project = SUP AND issue.property[gatehouse].draftId is EMPTY", sample)).toEqual([
      "SUP-1",
      "SUP-2",
    ]);
  });

  it("compares dates in Jira's absolute and relative formats", () => {
    expect(run('created >= "2025-05-01"', sample)).toEqual(["SUP-2"]);
    expect(run('created < "2025/05/01 00:00"', sample)).toEqual(["SUP-1", "NAS-1"]);
    expect(run("created >= -3d", sample)).toEqual(["SUP-2"]); // now is 2025-06-01
    expect(run("created <= now()", sample)).toHaveLength(3);
    expect(parseJqlDate("4w 2d", 0)).toBe(30 * 86_400_000);
    expect(parseJqlDate("2025-02-30", 0)).toBeUndefined();
  });

  it("orders by the ORDER BY keys, then by creation", () => {
    expect(run("project in (SUP, NAS) ORDER BY key DESC", sample)).toEqual(["SUP-2", "SUP-1", "NAS-1"]);
    expect(run("project in (SUP, NAS) ORDER BY priority DESC", sample)).toEqual(["SUP-2", "SUP-1", "NAS-1"]);
    expect(run("project in (SUP, NAS) ORDER BY created DESC, key ASC", sample)).toEqual([
      "SUP-2",
      "NAS-1",
      "SUP-1",
    ]);
    expect(run("project in (SUP, NAS)", sample)).toEqual(["SUP-1", "SUP-2", "NAS-1"]);
  });

  it("rejects unknown fields, operators a field does not take, and values that do not exist", () => {
    expect(validationErrors("nosuch = 1")).toEqual([
      "Field 'nosuch' does not exist or you do not have permission to view it.",
    ]);
    expect(validationErrors("project ~ SUP")).toEqual([
      "The operator '~' is not supported by the 'project' field.",
    ]);
    expect(validationErrors("summary = x")).toEqual([
      "The operator '=' is not supported by the 'summary' field.",
    ]);
    expect(validationErrors('project = "SUP\\" OR project = \\"NAS"')).toEqual([
      `The value 'SUP" OR project = "NAS' does not exist for the field 'project'.`,
    ]);
    expect(validationErrors("status = Blocked AND type = Epic")).toEqual([
      "The value 'Blocked' does not exist for the field 'status'.",
      "The value 'Epic' does not exist for the field 'type'.",
    ]);
    expect(validationErrors("key = SUP-99")).toEqual([
      "An issue with key 'SUP-99' does not exist for field 'key'.",
    ]);
    expect(validationErrors("key = nonsense")).toEqual([
      "The issue key 'nonsense' for field 'key' is invalid.",
    ]);
    expect(validationErrors('created > "yesterday"')[0]).toMatch(
      /^Date value 'yesterday' for field 'created' is invalid/,
    );
    expect(validationErrors("labels = currentUser()")).toEqual([
      "Unable to find JQL function 'currentUser()'.",
    ]);
    expect(validationErrors('summary ~ ""')).toEqual([
      "The field 'summary' does not support searching for an empty string.",
    ]);
    expect(validationErrors("project = SUP ORDER BY description")).toEqual([
      "Field 'description' does not support sorting.",
    ]);
  });

  it("knows unbounded queries", () => {
    expect(compileJql("", catalog).bounded).toBe(false);
    expect(compileJql("ORDER BY created DESC", catalog).bounded).toBe(false);
    expect(compileJql("labels = x", catalog).bounded).toBe(true);
  });

  it("issues page tokens that only work for the query they came from", () => {
    const t = encodePageToken(50, "project = SUP");
    expect(decodePageToken(t, "project = SUP")).toBe(50);
    expect(decodePageToken(t, "project = NAS")).toBeUndefined();
    expect(decodePageToken("garbage", "project = SUP")).toBeUndefined();
  });
});
