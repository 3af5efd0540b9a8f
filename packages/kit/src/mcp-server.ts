import { AuthError, type Identity } from "@gatehouse/governance";
import { ProtocolError, ProtocolErrorCode, Server, type ServerContext } from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import { z } from "zod";
import type { AuthRefusals } from "./auth-refusals.ts";
import { META_OUTCOME } from "./call-outcome.ts";
import type { ServerDefinition, Services } from "./define-server.ts";
import { annotationsFor, type ToolDefinition } from "./define-tool.ts";
import type { Governance } from "./governance-context.ts";
import { runGovernedCall } from "./pipeline.ts";
import { META_CORRELATION_ID, META_PROMPT, META_TRACEPARENT, newTraceContext } from "./trace-context.ts";

/** Resolves the caller of one request; throws (and audits) when there is none. */
export type IdentityResolver = (ctx: ServerContext) => Promise<Identity>;

type JsonObjectSchema = { type: "object"; [key: string]: unknown };

export interface ToolListing {
  name: string;
  title: string;
  description: string;
  inputSchema: JsonObjectSchema;
  outputSchema: JsonObjectSchema;
  annotations: ReturnType<typeof annotationsFor> & { title: string };
}

/** The public definition of each tool, derived once from its zod schemas and kind. */
export function listTools(def: ServerDefinition): ToolListing[] {
  return def.tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: z.toJSONSchema(t.input.strict(), { io: "input" }) as JsonObjectSchema,
    outputSchema: z.toJSONSchema(t.output, { io: "output" }) as JsonObjectSchema,
    annotations: { title: t.title, ...annotationsFor(t.kind) },
  }));
}

export interface McpServerParts<S extends Services> {
  def: ServerDefinition<S>;
  gov: Governance;
  services: S;
  log: Logger;
  resolveIdentity: IdentityResolver;
  /** Where a caller refused here (a token that no longer verifies) is audited. */
  refusals: AuthRefusals;
  requestTimeoutMs: number;
  /** The stdio server's GATEHOUSE_TOKEN, for servers that exchange tokens. */
  stdioToken?: string;
}

/**
 * Builds the low-level MCP server for one serving unit. The kit answers tools/list and tools/call
 * itself, so a server package has no way to register a tool outside the governed pipeline, and even a
 * malformed call is audited before it is refused.
 */
export function createMcpServerFactory<S extends Services>(parts: McpServerParts<S>): () => Server {
  const { def, gov, services, log } = parts;
  const listing = listTools(def as unknown as ServerDefinition);
  const byName = new Map<string, ToolDefinition<S, z.ZodObject, z.ZodObject>>(
    def.tools.map((t) => [t.name, t]),
  );

  return () => {
    const server = new Server(
      { name: def.name, title: def.title, version: def.version },
      { capabilities: { tools: { listChanged: false } }, instructions: def.instructions },
    );
    server.setRequestHandler("tools/list", async () => ({ tools: listing }));
    server.setRequestHandler("tools/call", async (req, ctx) => {
      const tool = byName.get(req.params.name);
      if (!tool)
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `unknown tool "${String(req.params.name).slice(0, 64)}"; call tools/list for the tools of ${def.name}`,
        );
      const meta = (req.params._meta ?? {}) as Record<string, unknown>;
      const headers = ctx.http?.req?.headers;
      const trace = newTraceContext({
        traceparent: meta[META_TRACEPARENT] ?? headers?.get("traceparent") ?? undefined,
        correlationId: meta[META_CORRELATION_ID] ?? headers?.get("x-correlation-id") ?? undefined,
      });
      let identity: Identity;
      try {
        identity = await parts.resolveIdentity(ctx);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        // A stdio token that expired mid-session (or an HTTP one in the moment since the gate): refused
        // like any other bad token, and audited in the same place.
        await parts.refusals.record({
          err,
          source: ctx.http ? "http" : "stdio",
          transport: ctx.http ? "http" : "stdio",
          tool: tool.name,
          trace,
        });
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `not authorized: ${err.description}`);
      }
      const deadline = Date.now() + parts.requestTimeoutMs;
      const signal = AbortSignal.any([ctx.mcpReq.signal, AbortSignal.timeout(parts.requestTimeoutMs)]);
      let result: Awaited<ReturnType<typeof runGovernedCall>>;
      try {
        result = await runGovernedCall(gov, services, log, {
          server: def.name,
          tool: tool as unknown as ToolDefinition<unknown, z.ZodObject, z.ZodObject>,
          identity,
          args: req.params.arguments ?? {},
          trace,
          prompt: typeof meta[META_PROMPT] === "string" ? (meta[META_PROMPT] as string) : undefined,
          signal,
          deadline,
          callerToken: def.tokenExchange ? (ctx.http?.authInfo?.token ?? parts.stdioToken) : undefined,
          transport: ctx.http ? "http" : "stdio",
        });
      } catch (err) {
        // The pipeline itself failed (the store or the audit trail unreachable): the cause goes to the log
        // under the correlation id, never to the caller (driver messages name hosts, tables and timeouts).
        log.error({ err, correlation_id: trace.correlationId, tool: tool.name }, "governed call failed");
        return {
          content: [
            {
              type: "text" as const,
              text: `${tool.name} could not be run through the gate (its audit trail or store did not answer); try again shortly. Correlation id ${trace.correlationId}.`,
            },
          ],
          isError: true,
          _meta: { [META_CORRELATION_ID]: trace.correlationId, traceparent: trace.traceparent },
        };
      }
      return {
        content: [{ type: "text" as const, text: result.text }],
        ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}),
        isError: result.isError,
        _meta: {
          [META_CORRELATION_ID]: trace.correlationId,
          "io.gatehouse/audit-event": result.auditId,
          [META_OUTCOME]: result.outcome,
          traceparent: trace.traceparent,
        },
      };
    });
    return server;
  };
}
