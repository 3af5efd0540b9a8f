import type { IncomingMessage } from "node:http";
import { AuthError, type Identity, type TokenVerifier } from "@gatehouse/governance";

export interface Authenticated {
  identity: Identity;
  token: string;
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i;

/**
 * Header to identity, or an AuthError saying why not. Only the Authorization header carries a token:
 * one in the query string would end up in proxy and access logs, so it is refused rather than ignored.
 */
export async function authenticate(
  req: IncomingMessage,
  url: URL,
  verifier: TokenVerifier,
): Promise<Authenticated> {
  if (url.searchParams.has("access_token")) {
    throw new AuthError(
      "invalid_request",
      "access tokens are not accepted in the query string; send an Authorization: Bearer header",
    );
  }
  const header = req.headers.authorization;
  if (!header) throw AuthError.noToken();
  const token = BEARER.exec(header)?.[1];
  if (!token) throw new AuthError("invalid_request", "the Authorization header must be 'Bearer <token>'");
  return { identity: await verifier.verify(token), token };
}

/** A token for this server carries at least one of its scopes. */
export function requireAnyScope(identity: Identity, scopes: string[]): void {
  if (!scopes.some((s) => identity.scopes.includes(s))) {
    throw new AuthError(
      "insufficient_scope",
      `this server needs one of: ${scopes.join(", ")}`,
      scopes.join(" "),
    );
  }
}

export function requireScope(identity: Identity, scope: string, why: string): void {
  if (!identity.scopes.includes(scope)) throw new AuthError("insufficient_scope", why, scope);
}

/**
 * Step-up: a call to a tool whose scope the token lacks is a 403 the client can act on (RFC 6750 §3.1),
 * decided before the MCP layer runs. Covers every call in a batch.
 */
export function requireToolScopes(identity: Identity, message: unknown, scopeOf: Map<string, string>): void {
  for (const msg of Array.isArray(message) ? message : [message]) {
    const m = msg as { method?: unknown; params?: { name?: unknown } } | null;
    const name = m?.method === "tools/call" && typeof m.params?.name === "string" ? m.params.name : undefined;
    const needed = name === undefined ? undefined : scopeOf.get(name);
    if (needed) requireScope(identity, needed, `${name} needs the ${needed} scope`);
  }
}
