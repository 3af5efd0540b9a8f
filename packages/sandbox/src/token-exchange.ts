import { randomUUID } from "node:crypto";
import { createLocalJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { ISSUER_ALG, type IssuerKeys } from "./issuer-keys.ts";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** A confidential client allowed to exchange tokens it received (the business server). */
export interface ExchangeClient {
  /** Its client secret (client_secret_basic at the token endpoint). */
  secret: string;
  /** The resource URL of that client: a subject token must have been issued for it. */
  resource: string;
  /** The resource URLs it may obtain tokens for. */
  targets: string[];
  /** The longest life of an exchanged token. */
  maxTtlSeconds?: number;
}

export class TokenExchangeError extends Error {
  readonly error:
    | "invalid_request"
    | "invalid_client"
    | "invalid_grant"
    | "invalid_target"
    | "unauthorized_client";
  readonly description: string;
  readonly status: number;

  constructor(
    error: "invalid_request" | "invalid_client" | "invalid_grant" | "invalid_target" | "unauthorized_client",
    description: string,
    status = error === "invalid_client" ? 401 : 400,
  ) {
    super(description);
    this.error = error;
    this.description = description;
    this.status = status;
  }
}

/**
 * RFC 8693 token exchange: a client that received a person's token (audience: the client) trades it
 * for a short-lived token for one downstream resource. The new token names the same person (sub,
 * tenant, roles), carries only scopes the person's roles allow at that resource, and says who acted for
 * them (`act`).
 * The authorization server has already authenticated `client`.
 */
export async function exchangeToken(
  keys: IssuerKeys,
  issuer: string,
  client: ExchangeClient & { id: string },
  form: { get(name: string): string | null | undefined },
  policy: {
    /** The scopes people with these roles may hold at `resource`. */
    scopesFor(roles: string[], resource: string): string[];
    /** Whether an operator revoked this person, client or token (the console's revocation list). */
    revoked?(claims: { sub: string; client: string; jti: string }): Promise<boolean>;
  },
): Promise<{
  access_token: string;
  issued_token_type: string;
  token_type: "Bearer";
  expires_in: number;
  scope: string;
}> {
  const subjectToken = form.get("subject_token");
  if (!subjectToken || form.get("subject_token_type") !== ACCESS_TOKEN_TYPE) {
    throw new TokenExchangeError(
      "invalid_request",
      `subject_token and subject_token_type=${ACCESS_TOKEN_TYPE} are required`,
    );
  }
  if (form.get("actor_token"))
    throw new TokenExchangeError(
      "invalid_request",
      "actor_token is not supported; the authenticated client is the actor",
    );
  const target = form.get("resource") ?? form.get("audience");
  if (!target || !client.targets.includes(target))
    throw new TokenExchangeError(
      "invalid_target",
      `this client may not obtain tokens for ${target ?? "(no resource)"}`,
    );

  let subject: JWTPayload;
  try {
    ({ payload: subject } = await jwtVerify(subjectToken, createLocalJWKSet(keys.publicJwks as never), {
      issuer,
      audience: client.resource,
      algorithms: [ISSUER_ALG],
    }));
  } catch (err) {
    const why =
      err instanceof errors.JWTExpired
        ? "the subject token has expired"
        : err instanceof errors.JWTClaimValidationFailed && err.claim === "aud"
          ? "the subject token was not issued to this client"
          : "the subject token is invalid";
    throw new TokenExchangeError("invalid_grant", why);
  }
  if (subject.act)
    throw new TokenExchangeError("invalid_grant", "an exchanged token cannot be exchanged again");
  const subjectClient = typeof subject.client_id === "string" ? subject.client_id : "";
  if (
    (await policy.revoked?.({
      sub: String(subject.sub),
      client: subjectClient,
      jti: String(subject.jti ?? ""),
    })) ||
    (await policy.revoked?.({ sub: "", client: client.id, jti: "" }))
  )
    throw new TokenExchangeError("invalid_grant", "access for this person, client or token has been revoked");

  // The new token's scopes are what the person's roles allow at that server: the caller's token names
  // the client (its audience is the client), not the downstream servers, so it cannot carry their scopes.
  const allowed = new Set(policy.scopesFor(stringList(subject.roles), target));
  const asked = form.get("scope")?.split(" ").filter(Boolean);
  const scopes = asked ? asked.filter((s) => allowed.has(s)) : [...allowed].sort();
  const now = Math.floor(Date.now() / 1000);
  const exp = Math.min(Number(subject.exp), now + (client.maxTtlSeconds ?? 300), keys.notAfter);
  const token = await new SignJWT({
    scope: scopes.join(" "),
    tenant: subject.tenant,
    roles: subject.roles,
    client_id: client.id,
    act: { sub: client.id },
  })
    .setProtectedHeader({ alg: ISSUER_ALG, kid: keys.kid, typ: "at+jwt" })
    .setIssuer(issuer)
    .setSubject(String(subject.sub))
    .setAudience(target)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(keys.privateKey);
  return {
    access_token: token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: "Bearer",
    expires_in: exp - now,
    scope: scopes.join(" "),
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
