import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, type JWTPayload, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthError, createTokenVerifier, type TokenVerifier } from "../src/index.ts";

const ISSUER = "https://idp.example.test";
const AUDIENCE = "https://gatehouse.example.test/order-lookup";
const KID = "signing-key-1";

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let signingKey: SigningKey;
let strangerKey: SigningKey;
let verifier: TokenVerifier;
let publicJwk: JWK;

const now = () => Math.floor(Date.now() / 1000);

function goodClaims(): JWTPayload {
  return {
    sub: "alice",
    roles: ["support_agent"],
    tenant: "emea",
    client_id: "claude-desktop",
    scope: "orders:read orders:pii",
    jti: "token-0001",
  };
}

async function mint(
  claims: JWTPayload,
  opts: {
    key?: SigningKey;
    kid?: string;
    issuer?: string;
    audience?: string;
    iat?: number | false;
    exp?: number;
    nbf?: number;
  } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: opts.kid ?? KID, typ: "JWT" })
    .setIssuer(opts.issuer ?? ISSUER)
    .setAudience(opts.audience ?? AUDIENCE)
    .setExpirationTime(opts.exp ?? now() + 300);
  if (opts.iat !== false) jwt.setIssuedAt(opts.iat ?? now());
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.key ?? signingKey);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Expects the verifier to refuse the token as invalid_token with exactly this description. */
async function expectRefused(token: string, description: string): Promise<void> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the token was accepted").toBeInstanceOf(AuthError);
  const authError = err as AuthError;
  expect(authError.code).toBe("invalid_token");
  expect(authError.status).toBe(401);
  expect(authError.description).toBe(description);
}

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  publicJwk = await exportJWK(pair.publicKey);
  const localJwks: JSONWebKeySet = { keys: [{ ...publicJwk, kid: KID, alg: "ES256", use: "sig" }] };
  verifier = createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: localJwks },
    env: "test",
  });
});

describe("token verifier", () => {
  it("turns a good ES256 token into the caller's identity", async () => {
    const identity = await verifier.verify(await mint(goodClaims()));
    expect(identity).toEqual({
      user: "alice",
      roles: ["support_agent"],
      tenant: "emea",
      client: "claude-desktop",
      env: "test",
      tokenId: "token-0001",
      scopes: ["orders:read", "orders:pii"],
      expiresAt: expect.any(Number),
    });
  });

  it("names the client from azp when the token has no client_id", async () => {
    const { client_id: _ignored, ...claims } = goodClaims();
    const identity = await verifier.verify(await mint({ ...claims, azp: "cursor" }));
    expect(identity.client).toBe("cursor");
  });

  it("refuses an unsecured token with alg none", async () => {
    const header = b64url({ alg: "none", typ: "JWT" });
    const payload = b64url({ ...goodClaims(), iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 });
    await expectRefused(
      `${header}.${payload}.`,
      "the access token's signing algorithm is not accepted (use one of RS256, PS256, ES256, EdDSA)",
    );
  });

  it("refuses an HS256 token signed with a shared secret (even the public key's own bytes)", async () => {
    // The classic key-confusion attack: use the published public key as the HMAC secret.
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: "HS256", kid: KID })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(secret);
    await expectRefused(
      token,
      "the access token's signing algorithm is not accepted (use one of RS256, PS256, ES256, EdDSA)",
    );
  });

  it("refuses a token from another issuer", async () => {
    await expectRefused(
      await mint(goodClaims(), { issuer: "https://evil.example.test" }),
      `the access token was not issued by ${ISSUER}`,
    );
  });

  it("refuses a token minted for another server and names the expected audience", async () => {
    await expectRefused(
      await mint(goodClaims(), { audience: "https://gatehouse.example.test/crm-read" }),
      `the access token was not issued for this server (audience must be ${AUDIENCE})`,
    );
  });

  it("refuses an expired token (beyond the clock tolerance)", async () => {
    await expectRefused(
      await mint(goodClaims(), { iat: now() - 600, exp: now() - 120 }),
      "the access token has expired",
    );
  });

  it("refuses a token that is not valid yet", async () => {
    await expectRefused(
      await mint(goodClaims(), { nbf: now() + 600, exp: now() + 900 }),
      "the access token is not valid yet",
    );
  });

  it("refuses a token signed by a key the issuer never published", async () => {
    await expectRefused(
      await mint(goodClaims(), { key: strangerKey, kid: "stranger-key" }),
      "the access token was signed by an unknown key",
    );
  });

  it("refuses a token signed by another key that claims the issuer's key id", async () => {
    await expectRefused(
      await mint(goodClaims(), { key: strangerKey, kid: KID }),
      "the access token's signature is invalid",
    );
  });

  it("refuses a token whose payload was altered after signing", async () => {
    const token = await mint(goodClaims());
    const [header, , signature] = token.split(".");
    const forged = b64url({
      ...goodClaims(),
      roles: ["admin"],
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now(),
      exp: now() + 300,
    });
    await expectRefused(`${header}.${forged}.${signature}`, "the access token's signature is invalid");
  });

  it("refuses a token without an iat claim", async () => {
    await expectRefused(await mint(goodClaims(), { iat: false }), "the access token's iat claim is invalid");
  });

  it("refuses a token without a tenant", async () => {
    const { tenant: _t, ...claims } = goodClaims();
    await expectRefused(await mint(claims), "the access token names no user, tenant or roles");
  });

  it("refuses a token without roles", async () => {
    await expectRefused(
      await mint({ ...goodClaims(), roles: [] }),
      "the access token names no user, tenant or roles",
    );
  });

  it("refuses garbage that is not a JWT at all", async () => {
    await expectRefused("not-a-token", "the access token is malformed or invalid");
  });
});
