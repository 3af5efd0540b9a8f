export { type AdfDoc, type AdfNode, adfParagraphs, adfText } from "./adf.ts";
export type { JiraFault, JiraFaultKind, JiraFaults } from "./faults.ts";
export {
  buildJiraSeed,
  type JiraIssueType,
  type JiraPriority,
  type JiraProject,
  type JiraSeed,
  type JiraStatus,
} from "./jira-seed.ts";
export {
  JIRA_SANDBOX_API_TOKEN,
  JIRA_SANDBOX_EMAIL,
  type JiraIssueSnapshot,
  type JiraLimits,
  type JiraSandboxOptions,
  type RunningJira,
  startJiraSandbox,
} from "./jira-server.ts";
export { JqlSyntaxError, jqlString, parseJql } from "./jql.ts";
