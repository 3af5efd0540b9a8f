import type { TestEnvironment } from "@gatehouse/testing";
import { generateKeyPair, SignJWT } from "jose";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

function claims(env: TestEnvironment, audience: string, over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: env.issuer.url,
    sub: "alice",
    aud: audience,
    iat: now,
    exp: now + 600,
    tenant: "emea",
    roles: ["support_agent"],
    scope: "orders:read",
    jti: `forged-${now}`,
    ...over,
  };
}

/** Forged and broken tokens, one per attack the gate must refuse. */
export async function forgedTokens(env: TestEnvironment, audience: string): Promise<Record<string, string>> {
  const good = await env.mint("alice", { audience });
  const [h, , s] = good.split(".");
  const stranger = await generateKeyPair("ES256");
  const sign = (
    payload: Record<string, unknown>,
    key = env.issuer.keys.privateKey,
    kid = env.issuer.keys.kid,
  ) => new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid }).sign(key);
  return {
    "alg none": `${b64({ alg: "none", typ: "JWT" })}.${b64(claims(env, audience))}.`,
    // Classic algorithm confusion: HMAC keyed with the issuer's public key.
    "HS256 with the public key as secret": await new SignJWT(claims(env, audience))
      .setProtectedHeader({ alg: "HS256", kid: env.issuer.keys.kid })
      .sign(new TextEncoder().encode(JSON.stringify(env.issuer.keys.publicJwks.keys[0]))),
    "minted for another server": await env.mint("alice", { audience: "http://127.0.0.1:7999/mcp" }),
    "from another issuer": await sign(claims(env, audience, { iss: "http://127.0.0.1:7999" })),
    expired: await sign(
      claims(env, audience, {
        iat: Math.floor(Date.now() / 1000) - 7200,
        exp: Math.floor(Date.now() / 1000) - 3600,
      }),
    ),
    "not valid yet": await sign(claims(env, audience, { nbf: Math.floor(Date.now() / 1000) + 3600 })),
    "signed by an unknown key": await sign(claims(env, audience), stranger.privateKey, env.issuer.keys.kid),
    "payload edited to tenant na": `${h}.${b64({ ...JSON.parse(Buffer.from(good.split(".")[1]!, "base64url").toString()), tenant: "na" })}.${s}`,
    "without tenant or roles": await sign(claims(env, audience, { tenant: undefined, roles: undefined })),
    "not a JWT": "definitely-not-a-token",
  };
}
