import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthError } from "@gatehouse/governance";
import {
  bearerAuthChallengeResponse,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
} from "@modelcontextprotocol/server";

/** The RFC 9728 metadata URL for a resource URL: the well-known prefix goes before the path. */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  return getOAuthProtectedResourceMetadataUrl(new URL(resourceUrl));
}

/** This server as an OAuth protected resource: its URL, its metadata document and where that is served. */
export interface ProtectedResource {
  url: URL;
  metadataUrl: string;
  /** The document's paths: the path-aware one (RFC 9728) and the bare one older clients probe. */
  metadataPaths: string[];
  /**
   * Built here rather than with the SDK's `buildOAuthProtectedResourceMetadata`: that one wants the
   * authorization server's full metadata (which a resource server need not fetch to start) and omits
   * `bearer_methods_supported`, which tells clients the token goes in the header only.
   */
  metadata: {
    resource: string;
    authorization_servers: string[];
    scopes_supported: string[];
    bearer_methods_supported: ["header"];
    resource_name: string;
  };
}

export function protectedResource(opts: {
  resourceUrl: string;
  issuer: string;
  scopes: string[];
  name: string;
}): ProtectedResource {
  const metadataUrl = protectedResourceMetadataUrl(opts.resourceUrl);
  return {
    url: new URL(opts.resourceUrl),
    metadataUrl,
    metadataPaths: [new URL(metadataUrl).pathname, "/.well-known/oauth-protected-resource"],
    metadata: {
      resource: opts.resourceUrl,
      authorization_servers: [opts.issuer],
      scopes_supported: opts.scopes,
      bearer_methods_supported: ["header"],
      resource_name: opts.name,
    },
  };
}

// Public and read by browser-based clients (MCP Inspector) from their own origin, so served with CORS.
const METADATA_CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET",
  "access-control-allow-headers": "mcp-protocol-version",
};

/** Answers GET and CORS preflight for the metadata document; false when the method is neither. */
export function serveMetadata(
  req: IncomingMessage,
  res: ServerResponse,
  resource: ProtectedResource,
): boolean {
  if (req.method === "OPTIONS") {
    res.writeHead(204, { ...METADATA_CORS, "access-control-max-age": "600" });
    res.end();
    return true;
  }
  if (req.method === "GET") {
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "max-age=300",
      ...METADATA_CORS,
    });
    res.end(JSON.stringify(resource.metadata));
    return true;
  }
  return false;
}

/** Same quoting as the SDK's challenges: an HTTP quoted-string, non-printable characters replaced. */
function quoted(value: string): string {
  return `"${value.replaceAll(/[\\"]/g, "\\$&").replaceAll(/[^\u0020-\u007E]/g, " ")}"`;
}

/** The HTTP answer to a refused request: status, `WWW-Authenticate` challenge and OAuth error body. */
export async function challenge(
  err: AuthError,
  resource: ProtectedResource,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  // The SDK's challenge covers the two codes it knows (401 invalid_token, 403 insufficient_scope).
  if (!err.noCredentials && (err.code === "invalid_token" || err.code === "insufficient_scope")) {
    const code =
      err.code === "invalid_token" ? OAuthErrorCode.InvalidToken : OAuthErrorCode.InsufficientScope;
    const answer = bearerAuthChallengeResponse(new OAuthError(code, err.description), {
      requiredScopes: err.requiredScope ? err.requiredScope.split(" ") : [],
      resourceMetadataUrl: resource.metadataUrl,
    });
    return {
      status: answer.status,
      headers: {
        "content-type": "application/json",
        "www-authenticate": answer.headers.get("www-authenticate") ?? "Bearer",
      },
      body: await answer.text(),
    };
  }
  // RFC 6750 §3.1: a request without credentials gets the bare challenge, without an error code; a
  // malformed one (token in the query string, a header that is not Bearer) is a 400 invalid_request.
  const parts = [`resource_metadata=${quoted(resource.metadataUrl)}`];
  if (!err.noCredentials)
    parts.unshift(`error=${quoted(err.code)}`, `error_description=${quoted(err.description)}`);
  return {
    status: err.status,
    headers: { "content-type": "application/json", "www-authenticate": `Bearer ${parts.join(", ")}` },
    body: JSON.stringify({ error: err.code, error_description: err.description }),
  };
}
