/**
 * The attribute names Gatehouse puts on spans and metrics. Only these are ever set: server, tool, tenant,
 * decision, stage, outcome and upstream/downstream call facts. Never arguments, results, messages, prompts,
 * tokens, or the person's identifier (a user id is personal data; the audit trail already names them).
 */
export const ATTR = {
  server: "gatehouse.server",
  tool: "gatehouse.tool",
  toolKind: "gatehouse.tool.kind",
  tenant: "gatehouse.tenant",
  decision: "gatehouse.decision",
  stage: "gatehouse.stage",
  outcome: "gatehouse.outcome",
  upstreamSystem: "gatehouse.upstream.system",
  upstreamOperation: "gatehouse.upstream.operation",
  upstreamAttempt: "gatehouse.upstream.attempt",
  upstreamRetry: "gatehouse.upstream.retry",
  upstreamAttempts: "gatehouse.upstream.attempts",
  downstreamServer: "gatehouse.downstream.server",
  downstreamOutcome: "gatehouse.downstream.outcome",
  // OpenTelemetry semantic conventions (MCP, GenAI, HTTP, errors) where one fits.
  mcpMethod: "mcp.method.name",
  toolName: "gen_ai.tool.name",
  serverAddress: "server.address",
  serverPort: "server.port",
  httpStatus: "http.response.status_code",
  errorType: "error.type",
} as const;

/** The instrumentation scope every span and instrument is created under. */
export const SCOPE = "@gatehouse/kit";
