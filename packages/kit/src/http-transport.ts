import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { AuthError, type Identity, RefusalRecorder, type TokenVerifier } from "@gatehouse/governance";
import { hostHeaderValidation, originValidation, toNodeHandler } from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler, type Server } from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import type { ApprovalRoutes } from "./approval-routes.ts";
import { guardMessageDepth } from "./argument-depth.ts";
import { type ServerDefinition, serverScopes } from "./define-server.ts";
import type { Governance } from "./governance-context.ts";
import { auditTraceFields, newTraceContext } from "./trace-context.ts";

export interface HttpOptions {
  host: string;
  port: number;
  /** The resource URL clients use and tokens must be minted for (RFC 8707); defaults to the bound address + /mcp. */
  resourceUrl?: string;
  issuer: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Refusals per source and kind past the first few of this interval are audited as one counted event. */
  authRefusalIntervalMs?: number;
}

export interface RunningHttp {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];
const METADATA_CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET",
  "access-control-allow-headers": "mcp-protocol-version",
};
export const IDENTITY_KEY = "gatehouse.identity";

/** The RFC 9728 metadata URL for a resource URL: the well-known prefix goes before the path. */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  const u = new URL(resourceUrl);
  return `${u.origin}/.well-known/oauth-protected-resource${u.pathname === "/" ? "" : u.pathname}`;
}

/**
 * Stateless Streamable HTTP with the gate in front: DNS-rebinding checks, body limits, bearer tokens
 * (never in the query string), RFC 9728 metadata, scope checks. Every refusal is audited.
 */
export async function startHttp(opts: {
  def: ServerDefinition;
  http: HttpOptions;
  gov: Governance;
  log: Logger;
  /** Made once the resource URL is known (after binding, when the port was 0). */
  verifierFor: (audience: string) => TokenVerifier;
  /** `/approvals/<id>` for servers whose tools send: authenticated people approve or reject there. */
  approvalRoutes?: ApprovalRoutes;
  factory: () => Server;
}): Promise<RunningHttp> {
  const { def, http, gov, log, approvalRoutes } = opts;
  const server: HttpServer = createServer();
  server.requestTimeout = http.requestTimeoutMs;
  server.headersTimeout = Math.min(http.requestTimeoutMs, 20_000);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(http.port, http.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = http.host.includes(":") ? `[${http.host}]` : http.host;
  const resourceUrl = http.resourceUrl ?? `http://${hostForUrl}:${addr.port}/mcp`;
  const resource = new URL(resourceUrl);
  const verifier = opts.verifierFor(resourceUrl);
  const metadataUrl = protectedResourceMetadataUrl(resourceUrl);
  const metadataPath = new URL(metadataUrl).pathname;
  const scopes = serverScopes(def);
  const scopeOf = new Map(def.tools.map((t) => [t.name, t.scope]));
  const hostnames = [...LOOPBACK, resource.hostname, ...http.allowedHosts];
  const checkHost = hostHeaderValidation(hostnames);
  const checkOrigin = originValidation([...LOOPBACK, resource.hostname, ...http.allowedOrigins]);
  const mcp = toNodeHandler(
    createMcpHandler(() => opts.factory(), { onerror: (err) => log.debug({ err }, "mcp request error") }),
  );

  const metadata = {
    resource: resourceUrl,
    authorization_servers: [http.issuer],
    scopes_supported: scopes,
    bearer_methods_supported: ["header"],
    resource_name: def.title,
  };

  // Every refusal is audited, but one client cannot grow the trail without bound: per remote address and
  // kind, the first few of each interval are written at once and the rest counted into one event.
  const refusals = new RefusalRecorder({
    append: (event) => gov.audit.append(event),
    server: def.name,
    intervalMs: http.authRefusalIntervalMs ?? 60_000,
    onError: (err) => log.error({ err }, "could not audit refused requests"),
  });

  const reject = async (req: IncomingMessage, res: ServerResponse, err: AuthError, identity?: Identity) => {
    const trace = newTraceContext({
      traceparent: req.headers.traceparent,
      correlationId: req.headers["x-correlation-id"],
    });
    const source = req.socket.remoteAddress ?? "unknown";
    try {
      await refusals.record({
        source,
        kind: err.code,
        reason: err.description,
        event: {
          type: "auth.rejected",
          server: def.name,
          identity,
          env: identity?.env ?? "http",
          outcome: err.code,
          detail: {
            reason: err.description,
            status: err.status,
            ...(err.requiredScope ? { requiredScope: err.requiredScope } : {}),
            source,
            userAgent: String(req.headers["user-agent"] ?? "").slice(0, 200),
          },
          ...auditTraceFields(trace),
        },
      });
    } catch (auditErr) {
      log.error({ err: auditErr }, "could not audit a rejected request");
    }
    const parts = [`resource_metadata="${metadataUrl}"`];
    // RFC 6750: a request without credentials gets the bare challenge, without an error code.
    if (!err.noCredentials) {
      parts.unshift(`error="${err.code}"`, `error_description="${err.description.replace(/"/g, "'")}"`);
    }
    if (err.requiredScope) parts.push(`scope="${err.requiredScope}"`);
    res.writeHead(err.status, {
      "content-type": "application/json",
      "www-authenticate": `Bearer ${parts.join(", ")}`,
    });
    res.end(JSON.stringify({ error: err.code, error_description: err.description }));
  };

  const handle = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    // RFC 9728 metadata is public and read by browser-based clients (MCP Inspector) from their own
    // origin, so it is served to any origin with CORS; everything else keeps the Origin check.
    if (path === metadataPath || path === "/.well-known/oauth-protected-resource") {
      if (!checkHost(req, res)) return;
      if (req.method === "OPTIONS") {
        res.writeHead(204, { ...METADATA_CORS, "access-control-max-age": "600" });
        return res.end();
      }
      if (req.method === "GET") {
        res.writeHead(200, {
          "content-type": "application/json",
          "cache-control": "max-age=300",
          ...METADATA_CORS,
        });
        return res.end(JSON.stringify(metadata));
      }
    }
    if (!checkHost(req, res) || !checkOrigin(req, res)) return;
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ ok: true, server: def.name, version: def.version }));
    }
    const approvalMatch = approvalRoutes ? /^\/approvals\/([A-Za-z0-9_-]{1,64})$/.exec(path) : null;
    if (path !== resource.pathname && !approvalMatch) {
      res.writeHead(404, { "content-type": "application/json" });
      return res.end(
        JSON.stringify({ error: "not_found", error_description: `the MCP endpoint is ${resource.pathname}` }),
      );
    }
    if (url.searchParams.has("access_token")) {
      return reject(
        req,
        res,
        new AuthError(
          "invalid_request",
          "access tokens are not accepted in the query string; send an Authorization: Bearer header",
        ),
      );
    }

    const header = req.headers.authorization;
    if (!header) return reject(req, res, AuthError.noToken());
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match?.[1])
      return reject(
        req,
        res,
        new AuthError("invalid_request", "the Authorization header must be 'Bearer <token>'"),
      );
    let identity: Identity;
    try {
      identity = await verifier.verify(match[1]);
    } catch (err) {
      if (err instanceof AuthError) return reject(req, res, err);
      throw err;
    }

    if (approvalMatch && approvalRoutes) {
      const scope = approvalRoutes.scope;
      if (!identity.scopes.includes(scope)) {
        return reject(
          req,
          res,
          new AuthError("insufficient_scope", `approving needs the ${scope} scope`, scope),
          identity,
        );
      }
      const body = req.method === "POST" ? await readBody(req, 16 * 1024) : { text: "", tooLarge: false };
      return approvalRoutes.handle(req.method ?? "GET", approvalMatch[1]!, body, identity, res);
    }

    if (!scopes.some((s) => identity.scopes.includes(s))) {
      return reject(
        req,
        res,
        new AuthError(
          "insufficient_scope",
          `this server needs one of: ${scopes.join(", ")}`,
          scopes.join(" "),
        ),
        identity,
      );
    }

    if (req.method !== "POST") {
      // Stateless server: no standalone SSE stream and no sessions to delete.
      res.writeHead(405, { allow: "POST", "content-type": "application/json" });
      return res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          error: { code: -32000, message: "Method not allowed: this stateless server accepts POST only" },
          id: null,
        }),
      );
    }
    const body = await readBody(req, http.maxBodyBytes);
    if (body.tooLarge) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" });
      return res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          error: { code: -32600, message: `request body over the ${http.maxBodyBytes}-byte limit` },
          id: null,
        }),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      return res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          error: { code: -32700, message: "Parse error: the body is not valid JSON" },
          id: null,
        }),
      );
    }
    // Hostile nesting never reaches the SDK's recursive validation (a too-deep tool call is still audited).
    const depth = guardMessageDepth(parsed);
    if (!depth.ok) {
      res.writeHead(400, { "content-type": "application/json" });
      return res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          error: { code: -32600, message: `Invalid request: ${depth.message}` },
          id: null,
        }),
      );
    }
    // Step-up: a call to a tool whose scope the token lacks is a 403 the client can act on (RFC 6750 §3.1).
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
      const m = msg as { method?: unknown; params?: { name?: unknown } };
      const needed =
        m?.method === "tools/call" && typeof m.params?.name === "string"
          ? scopeOf.get(m.params.name)
          : undefined;
      if (needed && !identity.scopes.includes(needed)) {
        return reject(
          req,
          res,
          new AuthError("insufficient_scope", `${String(m.params?.name)} needs the ${needed} scope`, needed),
          identity,
        );
      }
    }
    req.auth = {
      token: match[1],
      clientId: identity.client,
      scopes: identity.scopes,
      resource,
      extra: { [IDENTITY_KEY]: identity },
    };
    await mcp(req, res, parsed);
  };

  server.on("request", (req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err }, "http request failed");
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", error: { code: -32603, message: "internal error" }, id: null }),
        );
      } else res.end();
    });
  });
  return {
    url: resourceUrl,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      // The counts held back this interval, written before the store closes.
      await refusals.close();
    },
  };
}

export async function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<{ text: string; tooLarge: boolean }> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    return { text: "", tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return { text: "", tooLarge: true };
    chunks.push(chunk as Buffer);
  }
  return { text: Buffer.concat(chunks).toString("utf8"), tooLarge: false };
}
