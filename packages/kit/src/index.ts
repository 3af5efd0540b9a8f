export type { ApprovalSource } from "./approval-routes.ts";
export { type CallOutcome, META_OUTCOME, type OutcomeCode, outcomeOf, type Stage } from "./call-outcome.ts";
export { type KitConfig, loadKitConfig } from "./config.ts";
export {
  defineServer,
  type ServerDefinition,
  type Services,
  type ServicesContext,
  serverScopes,
} from "./define-server.ts";
export {
  annotationsFor,
  defineTool,
  type RecordRef,
  SCOPE_NAME,
  TOOL_NAME,
  type ToolContext,
  type ToolDefinition,
  type ToolInput,
  type ToolKind,
  tenantArgument,
  toolsFor,
} from "./define-tool.ts";
export { createGovernance, type Governance } from "./governance-context.ts";
export { protectedResourceMetadataUrl } from "./http/protected-resource.ts";
export { identifier } from "./identifier.ts";
export { serveFromCommandLine } from "./main.ts";
export { listTools, type ToolListing } from "./mcp-server.ts";
export { type RunningServer, runServer } from "./run-server.ts";
export { type SpawnedServer, spawnHttpServer } from "./spawn-server.ts";
export { ToolError, type ToolErrorCode } from "./tool-error.ts";
export {
  META_CORRELATION_ID,
  META_PROMPT,
  META_TRACEPARENT,
  newTraceContext,
  type TraceContext,
} from "./trace-context.ts";
export {
  Upstream,
  type UpstreamCallOptions,
  type UpstreamConfig,
  UpstreamError,
  type UpstreamErrors,
  upstreamConfigFromEnv,
} from "./upstream.ts";
