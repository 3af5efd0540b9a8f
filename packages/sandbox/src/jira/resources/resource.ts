import type { Answer } from "../../stand-in/server.ts";
import type { IssueStore, StoredIssue } from "../issue-store.ts";
import type { JiraSite, Presenter } from "../present.ts";

/** What every resource reads and changes: the site it answers as, its issues, and Jira's JSON shapes. */
export interface JiraContext {
  site: JiraSite;
  issues: IssueStore;
  present: Presenter;
}

/** An authenticated, rate-limited request under `/rest/api/3/`, its path split into decoded parts. */
export interface JiraRequest {
  method: string;
  path: string;
  /** The path after `/rest/api/3/`, split on `/` and percent-decoded: `["issue", "SUP-1", "comment"]`. */
  parts: string[];
  q: URLSearchParams;
  rawBody: string;
}

/** A resource answers the requests that are its own and leaves the rest (undefined) to the next one. */
export type Resource = (req: JiraRequest) => Answer | undefined;

/** A resource under one issue (`/issue/{idOrKey}/…`), given the issue the path names. */
export type IssueResource = (req: JiraRequest, issue: StoredIssue) => Answer | undefined;
