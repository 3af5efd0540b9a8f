export { type AdfDoc, textToAdf } from "./adf.ts";
export {
  contentHash,
  contentOf,
  type Draft,
  type DraftContent,
  type DraftStatus,
  draftFromRow,
  draftLabel,
  SUBJECT_TYPE,
  verifiedContent,
} from "./draft.ts";
export { DraftsRepository } from "./drafts-repository.ts";
export {
  type JiraClient,
  JiraGateway,
  type JiraGatewayOptions,
  type JiraSettings,
  JiraUnreadableError,
} from "./jira.ts";
export { commentMarker, type JiraRequest, jiraRequestFor } from "./jira-request.ts";
export { quoteJql, withinProjects } from "./jql.ts";
export {
  draftDescription,
  draftId,
  draftView,
  issueKey,
  label,
  priority,
  projectKey,
  toDraftView,
} from "./schemas.ts";
