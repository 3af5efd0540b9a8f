import { randomUUID } from "node:crypto";
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from "jose";
import type { IdentityDirectory } from "../identities.ts";
import { ISSUER_ALG, type IssuerKeys } from "../issuer-keys.ts";
import type { AssertionReplayGuard } from "./assertion-replay.ts";

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** The JWT `typ` of an Identity Assertion JWT Authorization Grant (ID-JAG). */
export const ID_JAG_TYP = "oauth-id-jag+jwt";
export const ID_JAG_GRANT_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag";
export const ENTERPRISE_MANAGED_AUTHORIZATION = "io.modelcontextprotocol/enterprise-managed-authorization";

/** An enterprise identity provider whose ID-JAGs this authorization server accepts. */
export interface TrustedIdentityProvider {
  /** Its issuer URL, exactly as its ID-JAGs' `iss`. */
  issuer: string;
  /** Where its signing keys are published. */
  jwksUri: string;
  /** The claim naming the person, looked up among Gatehouse's people (default `sub`). */
  subjectClaim?: string;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A trusted IdP as configured, checked: its issuer and JWKS URLs are https (http only on loopback, the
 * sandbox's), so its keys cannot be swapped in transit. Throws an error naming the bad setting.
 */
export function checkedIdentityProvider(idp: TrustedIdentityProvider): TrustedIdentityProvider {
  for (const [name, value] of [
    ["issuer", idp.issuer],
    ["jwksUri", idp.jwksUri],
  ] as const) {
    const u = URL.parse(String(value));
    const ok = u?.protocol === "https:" || (u?.protocol === "http:" && LOOPBACK_HOSTS.has(u.hostname));
    if (!ok) {
      throw new Error(
        `trusted identity provider ${String(idp.issuer)}: ${name} must be an https URL (http only on loopback); got ${String(value)}`,
      );
    }
  }
  return idp;
}

/** Why an identity assertion was refused: an RFC 6749 error code and words saying what was wrong. */
export class AssertionRefused extends Error {
  readonly error: "invalid_request" | "invalid_grant" | "invalid_target" | "unauthorized_client";
  readonly detail: Record<string, unknown>;
  constructor(error: AssertionRefused["error"], description: string, detail: Record<string, unknown> = {}) {
    super(description);
    this.error = error;
    this.detail = detail;
  }
}

const CLOCK_TOLERANCE_SECONDS = 30;
/** An ID-JAG is a short-lived grant: one claiming a longer life than this is refused. */
const MAX_ASSERTION_LIFE_SECONDS = 600;
const ACCESS_TOKEN_TTL_SECONDS = 3600;

/**
 * The RFC 7523 JWT bearer grant with an ID-JAG (the enterprise-managed authorization extension, §5.1): the
 * assertion is from a trusted IdP (signature by its published keys), `typ` oauth-id-jag+jwt, audience this
 * authorization server, issued to the client presenting it, for a resource this server serves, not
 * expired, never seen before, and naming a person Gatehouse knows. The access token is the same as the
 * code flow's: one server's audience, the person's tenant and roles, the scopes their roles allow there.
 */
export class IdentityAssertionRedeemer {
  private readonly jwks = new Map<string, JWTVerifyGetKey>();
  private readonly opts: {
    issuer: string;
    identities: IdentityDirectory;
    trusted: () => TrustedIdentityProvider[];
    replay: AssertionReplayGuard;
    /** The scopes a token for `resource` may carry, or undefined when it is not a resource served here. */
    resourceScopes: (resource: string) => string[] | undefined;
    roleScopes: (roles: string[]) => string[];
  };

  constructor(opts: IdentityAssertionRedeemer["opts"]) {
    this.opts = opts;
  }

  async redeem(
    keys: IssuerKeys,
    clientId: string,
    form: { get(name: string): string | undefined },
  ): Promise<{
    access_token: string;
    token_type: "Bearer";
    expires_in: number;
    scope: string;
    claims: JWTPayload;
  }> {
    const assertion = form.get("assertion");
    if (!assertion) throw new AssertionRefused("invalid_request", "assertion (an ID-JAG) is required");
    let unverified: JWTPayload;
    let typ: string | undefined;
    try {
      unverified = decodeJwt(assertion);
      typ = decodeProtectedHeader(assertion).typ;
    } catch {
      throw new AssertionRefused("invalid_grant", "the assertion is not a JWT");
    }
    if (typ !== ID_JAG_TYP) {
      throw new AssertionRefused(
        "invalid_grant",
        `the assertion's typ is ${typ ?? "missing"}, not ${ID_JAG_TYP}`,
      );
    }
    const idp = this.opts.trusted().find((t) => t.issuer === unverified.iss);
    if (!idp) {
      throw new AssertionRefused(
        "invalid_grant",
        `the assertion's issuer ${String(unverified.iss)} is not a trusted identity provider`,
        { assertion_issuer: String(unverified.iss).slice(0, 300) },
      );
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(assertion, this.keysOf(idp), {
        issuer: idp.issuer,
        audience: this.opts.issuer,
        typ: ID_JAG_TYP,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["sub", "exp", "iat", "jti", "client_id", "resource"],
      }));
    } catch (err) {
      throw new AssertionRefused("invalid_grant", verifyFailure(err, this.opts.issuer), {
        assertion_issuer: idp.issuer,
      });
    }
    const jti = String(claims.jti);
    const exp = Number(claims.exp);
    const detail = {
      assertion_issuer: idp.issuer,
      assertion_subject: String(claims.sub),
      assertion_jti: jti,
    };
    if (exp - Number(claims.iat) > MAX_ASSERTION_LIFE_SECONDS) {
      throw new AssertionRefused(
        "invalid_grant",
        `the assertion lives longer than ${MAX_ASSERTION_LIFE_SECONDS} s`,
        detail,
      );
    }
    if (claims.client_id !== clientId) {
      throw new AssertionRefused(
        "invalid_grant",
        `the assertion was issued to client ${String(claims.client_id)}, not to ${clientId} which presented it`,
        detail,
      );
    }
    const resource = String(claims.resource);
    const requested = form.get("resource");
    if (requested && requested !== resource) {
      throw new AssertionRefused(
        "invalid_target",
        `the assertion is for ${resource}, not ${requested}`,
        detail,
      );
    }
    const atResource = this.opts.resourceScopes(resource);
    if (!atResource) {
      throw new AssertionRefused(
        "invalid_target",
        `${resource} is not a resource this authorization server serves`,
        detail,
      );
    }
    const subjectClaim = idp.subjectClaim ?? "sub";
    const person = typeof claims[subjectClaim] === "string" ? (claims[subjectClaim] as string) : "";
    const user = this.opts.identities.users[person];
    if (!user) {
      throw new AssertionRefused(
        "invalid_grant",
        `the assertion's ${subjectClaim} ${person || "(missing)"} is not a person Gatehouse knows`,
        detail,
      );
    }
    // Single use, checked last so a refused assertion is not spent; kept until it would have expired anyway.
    if (!this.opts.replay.use(idp.issuer, jti, exp + CLOCK_TOLERANCE_SECONDS)) {
      throw new AssertionRefused("invalid_grant", `the assertion ${jti} has already been used`, detail);
    }

    // What the person's roles allow at that server, cut to what the IdP granted and the client asked for.
    const narrowTo = (list: string | undefined) =>
      list ? new Set(list.split(" ").filter(Boolean)) : undefined;
    const granted = narrowTo(typeof claims.scope === "string" ? claims.scope : undefined);
    const asked = narrowTo(form.get("scope"));
    const scopes = this.opts
      .roleScopes(user.roles)
      .filter((s) => atResource.includes(s) && (!granted || granted.has(s)) && (!asked || asked.has(s)))
      .sort();
    const now = Math.floor(Date.now() / 1000);
    const tokenExp = Math.min(now + ACCESS_TOKEN_TTL_SECONDS, keys.notAfter);
    const token = await new SignJWT({
      scope: scopes.join(" "),
      tenant: user.tenant,
      roles: user.roles,
      name: user.name,
      client_id: clientId,
    })
      .setProtectedHeader({ alg: ISSUER_ALG, kid: keys.kid, typ: "at+jwt" })
      .setIssuer(this.opts.issuer)
      .setSubject(person)
      .setAudience(resource)
      .setIssuedAt(now)
      .setExpirationTime(tokenExp)
      .setJti(randomUUID())
      .sign(keys.privateKey);
    return {
      access_token: token,
      token_type: "Bearer",
      expires_in: tokenExp - now,
      scope: scopes.join(" "),
      claims,
    };
  }

  private keysOf(idp: TrustedIdentityProvider): JWTVerifyGetKey {
    let keys = this.jwks.get(idp.jwksUri);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(idp.jwksUri), { timeoutDuration: 2500, cooldownDuration: 30_000 });
      this.jwks.set(idp.jwksUri, keys);
    }
    return keys;
  }
}

function verifyFailure(err: unknown, audience: string): string {
  if (err instanceof errors.JWTExpired) return "the assertion has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "aud") return `the assertion's audience is not this authorization server (${audience})`;
    if (err.reason === "missing") return `the assertion has no ${err.claim} claim`;
    return `the assertion's ${err.claim} claim is not acceptable (${err.message})`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return "the assertion's signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey)
    return "the assertion is signed with a key its issuer does not publish";
  if (err instanceof errors.JOSEError) return `the assertion could not be verified (${err.code})`;
  return "the assertion could not be verified";
}
