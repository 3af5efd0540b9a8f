import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { AuthError, type Identity } from "./identity.ts";

/** Asymmetric algorithms only: `none` and HMAC (shared-secret) tokens are never accepted. */
export const ACCEPTED_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

export interface TokenVerifierOptions {
  issuer: string;
  /** This server's resource URL (RFC 8707): a token minted for any other audience is refused. */
  audience: string;
  jwks: { url: string } | { keys: JSONWebKeySet };
  env: string;
  clockToleranceSeconds?: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
  /** Whether the issuer's signing keys are in hand, fetching them if they are not (for readiness). */
  keysReady(): Promise<boolean>;
}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const remote =
    "url" in opts.jwks
      ? createRemoteJWKSet(new URL(opts.jwks.url), { timeoutDuration: 5000, cooldownDuration: 30_000 })
      : undefined;
  const keys: JWTVerifyGetKey = remote ?? createLocalJWKSet((opts.jwks as { keys: JSONWebKeySet }).keys);

  // A verified token's identity, until the token expires: signature checks dominate per-call cost, and
  // agents reuse one token for many calls. Keyed by the whole token, so nothing unverified is trusted.
  const verified = new Map<string, { identity: Identity; exp: number }>();
  return {
    async keysReady() {
      if (!remote) return true;
      if (remote.jwks() === undefined) await remote.reload().catch(() => undefined);
      return remote.jwks() !== undefined;
    },
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.exp > Date.now() / 1000) return hit.identity;
      if (hit) verified.delete(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: ACCEPTED_ALGORITHMS,
          requiredClaims: ["sub", "exp", "iat"],
          clockTolerance: opts.clockToleranceSeconds ?? 30,
        }));
      } catch (err) {
        throw new AuthError("invalid_token", describeJoseError(err, opts));
      }
      const identity = identityFromClaims(payload, opts.env);
      if (verified.size >= 1000) verified.delete(verified.keys().next().value as string);
      verified.set(token, { identity, exp: payload.exp ?? 0 });
      return identity;
    },
  };
}

function describeJoseError(err: unknown, opts: TokenVerifierOptions): string {
  if (err instanceof errors.JWTExpired) return "the access token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud")
      return `the access token was not issued for this server (audience must be ${opts.audience})`;
    if (err.claim === "iss") return `the access token was not issued by ${opts.issuer}`;
    if (err.claim === "nbf") return "the access token is not valid yet";
    return `the access token's ${err.claim} claim is invalid`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return `the access token's signing algorithm is not accepted (use one of ${ACCEPTED_ALGORITHMS.join(", ")})`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the access token's signature is invalid";
  if (err instanceof errors.JWKSNoMatchingKey) return "the access token was signed by an unknown key";
  // A timeout or a network error while fetching the issuer's keys: the token may be fine, the issuer is not.
  if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
    return "the access token could not be verified (issuer keys unavailable)";
  }
  return "the access token is malformed or invalid";
}

function stringArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return value.split(" ").filter(Boolean);
  return [];
}

/** Maps verified claims to an identity; a token without tenant or roles cannot act for anyone. */
export function identityFromClaims(payload: JWTPayload, env: string): Identity {
  const tenant = typeof payload.tenant === "string" ? payload.tenant : undefined;
  const roles = stringArray(payload.roles);
  if (!payload.sub || !tenant || roles.length === 0) {
    throw new AuthError("invalid_token", "the access token names no user, tenant or roles");
  }
  const client =
    (typeof payload.client_id === "string" && payload.client_id) ||
    (typeof payload.azp === "string" && payload.azp) ||
    "unknown";
  return {
    user: payload.sub,
    roles,
    tenant,
    client,
    env,
    tokenId: typeof payload.jti === "string" ? payload.jti : "no-jti",
    scopes: stringArray(payload.scope),
    ...(typeof payload.exp === "number" ? { expiresAt: payload.exp } : {}),
  };
}
