import { listParam } from "../../stand-in/server.ts";
import { type AdfDoc, adfError } from "../adf.ts";
import { allow, badRequest, ERR_PAYLOAD, issueNotFound, json, object, ok } from "../http.ts";
import { DEFAULT_PRIORITY, findProject } from "../issue-store.ts";
import type { JiraIssueType } from "../jira-seed.ts";
import { issueComments } from "./issue-comments.ts";
import { checkPropertyKey, checkPropertyValue, issueProperties } from "./issue-properties.ts";
import { issueTransitions } from "./issue-transitions.ts";
import type { JiraContext, Resource } from "./resource.ts";

const MAX_SUMMARY = 255;
const MAX_LABEL = 255;
/** Fields the create screen has. Anything else is refused, as Jira refuses fields not on the screen. */
const CREATE_FIELDS = new Set(["project", "issuetype", "summary", "description", "priority", "labels"]);

/**
 * POST /issue (create, with Jira's field errors), GET /issue/{idOrKey}, and the issue's properties, comments
 * and transitions. Any path naming an unknown issue is that issue's 404, whatever follows it.
 */
export const issues = (ctx: JiraContext): Resource => {
  const { site, issues: store, present } = ctx;
  const { seed } = site;
  const subResources = [issueProperties(ctx), issueComments(ctx), issueTransitions(ctx)];

  function createIssue(input: unknown): Record<string, unknown> {
    const body = object(input);
    const fields =
      typeof body.fields === "object" && body.fields !== null ? (body.fields as Record<string, unknown>) : {};
    const errors: Record<string, string> = {};

    const projectRef = object(fields.project ?? {});
    const projectId = projectRef.id ?? projectRef.key;
    const p =
      typeof projectId === "string" || typeof projectId === "number"
        ? findProject(seed, String(projectId))
        : undefined;
    if (!p) errors.project = "valid project is required";

    let issueType: JiraIssueType | undefined;
    if (fields.issuetype === undefined || fields.issuetype === null)
      errors.issuetype = "Specify an issue type";
    else {
      const ref = object(fields.issuetype);
      issueType = seed.issueTypes.find(
        (t) =>
          (ref.id !== undefined && String(ref.id) === t.id) ||
          (typeof ref.name === "string" && ref.name.toLowerCase() === t.name.toLowerCase()),
      );
      if (!issueType) errors.issuetype = "Specify a valid issue type";
    }

    const summary = fields.summary;
    if (summary !== undefined && summary !== null && typeof summary !== "string")
      errors.summary = "Operation value must be a string";
    else if (typeof summary !== "string" || summary.trim() === "")
      errors.summary = "You must specify a summary of the issue.";
    else if (summary.length > MAX_SUMMARY) errors.summary = "Summary must be less than 255 characters.";
    else if (/[\r\n]/.test(summary))
      errors.summary = "The summary is invalid because it contains newline characters.";

    let description: AdfDoc | null = null;
    if (fields.description !== undefined && fields.description !== null) {
      const problem = adfError(fields.description);
      if (problem) errors.description = problem;
      else description = structuredClone(fields.description as AdfDoc);
    }

    let priority = seed.priorities.find((x) => x.name === DEFAULT_PRIORITY)!;
    if (fields.priority !== undefined && fields.priority !== null) {
      const ref = object(fields.priority);
      const hit = seed.priorities.find(
        (x) =>
          (ref.id !== undefined && String(ref.id) === x.id) ||
          (typeof ref.name === "string" && ref.name.toLowerCase() === x.name.toLowerCase()),
      );
      if (hit) priority = hit;
      else errors.priority = "The priority selected is invalid.";
    }

    const labels: string[] = [];
    if (fields.labels !== undefined && fields.labels !== null) {
      if (!Array.isArray(fields.labels) || fields.labels.some((l) => typeof l !== "string"))
        errors.labels = "Operation value must be an array of strings";
      else
        for (const l of fields.labels as string[]) {
          if (l === "") errors.labels = "Labels cannot be empty.";
          else if (/\s/.test(l)) errors.labels = `The label '${l}' contains spaces which is invalid.`;
          else if (l.length > MAX_LABEL)
            errors.labels = `The label '${l}' exceeds the maximum length for a single label of 255 characters.`;
          else if (!labels.includes(l)) labels.push(l);
          if (errors.labels) break;
        }
    }

    for (const name of Object.keys(fields))
      if (!CREATE_FIELDS.has(name))
        errors[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;

    const properties = new Map<string, unknown>();
    if (body.properties !== undefined) {
      if (!Array.isArray(body.properties)) throw badRequest([ERR_PAYLOAD]);
      for (const entry of body.properties) {
        const e = object(entry);
        if (typeof e.key !== "string") throw badRequest(["The property key must be a string."]);
        checkPropertyKey(e.key);
        if (e.value === undefined) throw badRequest([`The property '${e.key}' has no value.`]);
        checkPropertyValue(JSON.stringify(e.value));
        properties.set(e.key, structuredClone(e.value));
      }
    }

    if (Object.keys(errors).length > 0 || !p || !issueType || typeof summary !== "string")
      throw badRequest([], errors);

    const now = Date.now();
    const issue = store.add({
      project: p,
      issueType,
      priority,
      status: seed.statuses[0]!,
      summary,
      description,
      labels,
      created: now,
      updated: now,
    });
    for (const [k, v] of properties) issue.properties.set(k, v);
    return { id: issue.id, key: issue.key, self: `${site.url}/rest/api/3/issue/${issue.id}` };
  }

  return (req) => {
    const { method, path, parts, q, rawBody } = req;
    if (parts[0] !== "issue") return undefined;
    if (parts.length === 1) {
      allow(method, ["POST"], path);
      return ok(201, createIssue(json(rawBody)));
    }
    const issue = store.find(parts[1]!);
    if (!issue) throw issueNotFound();
    if (parts.length === 2) {
      allow(method, ["GET"], path);
      return ok(
        200,
        present.issue(issue, listParam(q, "fields") ?? ["*all"], listParam(q, "properties") ?? [], true),
      );
    }
    for (const sub of subResources) {
      const answer = sub(req, issue);
      if (answer) return answer;
    }
    return undefined;
  };
};
