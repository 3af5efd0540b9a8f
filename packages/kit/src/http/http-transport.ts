import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AuthError, type Identity, type TokenVerifier } from "@gatehouse/governance";
import { hostHeaderValidation, originValidation, toNodeHandler } from "@modelcontextprotocol/node";
import { type AuthInfo, createMcpHandler, type Server } from "@modelcontextprotocol/server";
import type { Logger } from "pino";
import type { ApprovalRoutes } from "../approval-routes.ts";
import type { AuthRefusals } from "../auth-refusals.ts";
import { type ServerDefinition, serverScopes } from "../define-server.ts";
import { httpIdentity } from "../identity-resolvers.ts";
import type { IdentityResolver } from "../mcp-server.ts";
import type { ReadinessCheck } from "../readiness.ts";
import { newTraceContext } from "../trace-context.ts";
import { authenticate, requireAnyScope, requireScope, requireToolScopes } from "./bearer-gate.ts";
import { serveHealth } from "./health.ts";
import { challenge, type ProtectedResource, protectedResource, serveMetadata } from "./protected-resource.ts";
import { readBody, readJsonRpcBody } from "./request-body.ts";
import { sendJson, sendJsonRpcError } from "./responses.ts";

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
}

export interface RunningHttp {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];
const APPROVAL_PATH = /^\/approvals\/([A-Za-z0-9_-]{1,64})$/;
const APPROVAL_BODY_BYTES = 16 * 1024;

/**
 * Stateless Streamable HTTP with the gate in front. In order: health probes (no Host check: kubelets and
 * proxies probe by address), RFC 9728 metadata, DNS-rebinding checks, routing, the bearer gate (every
 * refusal audited through `refusals`), body limits, step-up scope checks, then the MCP handler.
 */
export async function startHttp(opts: {
  def: ServerDefinition;
  http: HttpOptions;
  log: Logger;
  /** Made once the resource URL is known (after binding, when the port was 0). */
  verifierFor: (audience: string) => TokenVerifier;
  /** The MCP server for one request, resolving its caller with the resolver given. */
  factoryFor: (resolveIdentity: IdentityResolver) => () => Server;
  refusals: AuthRefusals;
  readiness: ReadinessCheck[];
  /** `/approvals/<id>` for servers whose tools send: authenticated people approve or reject there. */
  approvalRoutes?: ApprovalRoutes;
}): Promise<RunningHttp> {
  const { def, http, log, approvalRoutes, refusals } = opts;
  const server = createServer();
  server.requestTimeout = http.requestTimeoutMs;
  server.headersTimeout = Math.min(http.requestTimeoutMs, 20_000);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(http.port, http.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = http.host.includes(":") ? `[${http.host}]` : http.host;
  const resourceUrl = http.resourceUrl ?? `http://${hostForUrl}:${addr.port}/mcp`;
  const scopes = serverScopes(def);
  const resource: ProtectedResource = protectedResource({
    resourceUrl,
    issuer: http.issuer,
    scopes,
    name: def.title,
  });
  const verifier = opts.verifierFor(resourceUrl);
  const readiness: ReadinessCheck[] = [
    ...opts.readiness,
    { name: "issuer_keys", check: () => verifier.keysReady() },
  ];
  const scopeOf = new Map(def.tools.map((t) => [t.name, t.scope]));
  const checkHost = hostHeaderValidation([...LOOPBACK, resource.url.hostname, ...http.allowedHosts]);
  const checkOrigin = originValidation([...LOOPBACK, resource.url.hostname, ...http.allowedOrigins]);
  const mcp = toNodeHandler(
    createMcpHandler(opts.factoryFor(httpIdentity(verifier)), {
      onerror: (err) => log.debug({ err }, "mcp request error"),
    }),
  );

  const refuse = async (req: IncomingMessage, res: ServerResponse, err: AuthError, identity?: Identity) => {
    await refusals.record({
      err,
      identity,
      source: req.socket.remoteAddress ?? "unknown",
      transport: "http",
      trace: newTraceContext({
        traceparent: req.headers.traceparent,
        correlationId: req.headers["x-correlation-id"],
      }),
      userAgent: String(req.headers["user-agent"] ?? ""),
    });
    const answer = await challenge(err, resource);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const handle = async (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (req.method === "GET" && (path === "/healthz" || path === "/readyz")) {
      return serveHealth(res, path, def, readiness);
    }
    if (resource.metadataPaths.includes(path)) {
      if (!checkHost(req, res)) return;
      if (serveMetadata(req, res, resource)) return;
    }
    if (!checkHost(req, res) || !checkOrigin(req, res)) return;
    const approvalId = approvalRoutes ? APPROVAL_PATH.exec(path)?.[1] : undefined;
    if (path !== resource.url.pathname && !approvalId) {
      return sendJson(res, 404, {
        error: "not_found",
        error_description: `the MCP endpoint is ${resource.url.pathname}`,
      });
    }

    let identity: Identity;
    let token: string;
    try {
      ({ identity, token } = await authenticate(req, url, verifier));
    } catch (err) {
      if (err instanceof AuthError) return refuse(req, res, err);
      throw err;
    }
    try {
      if (approvalId && approvalRoutes) {
        requireScope(identity, approvalRoutes.scope, `approving needs the ${approvalRoutes.scope} scope`);
      } else {
        requireAnyScope(identity, scopes);
      }
    } catch (err) {
      if (err instanceof AuthError) return refuse(req, res, err, identity);
      throw err;
    }

    if (approvalId && approvalRoutes) {
      const body =
        req.method === "POST" ? await readBody(req, APPROVAL_BODY_BYTES) : { text: "", tooLarge: false };
      return approvalRoutes.handle(req.method ?? "GET", approvalId, body, identity, res);
    }
    if (req.method !== "POST") {
      // Stateless server: no standalone SSE stream and no sessions to delete.
      return sendJsonRpcError(
        res,
        405,
        -32000,
        "Method not allowed: this stateless server accepts POST only",
        {
          allow: "POST",
        },
      );
    }
    const body = await readJsonRpcBody(req, http.maxBodyBytes);
    if (!body.ok) {
      return sendJsonRpcError(
        res,
        body.status,
        body.code,
        body.message,
        body.close ? { connection: "close" } : {},
      );
    }
    try {
      requireToolScopes(identity, body.message, scopeOf);
    } catch (err) {
      if (err instanceof AuthError) return refuse(req, res, err, identity);
      throw err;
    }
    req.auth = { token, clientId: identity.client, scopes: identity.scopes, resource: resource.url };
    await mcp(req, res, body.message);
  };

  server.on("request", (req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err }, "http request failed");
      if (!res.headersSent) sendJsonRpcError(res, 500, -32603, "internal error");
      else res.end();
    });
  });
  return {
    url: resourceUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
