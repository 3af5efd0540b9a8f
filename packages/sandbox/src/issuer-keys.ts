import type { webcrypto } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

export interface IssuerKeys {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  /** The same key as a JWK, for the authorization server's keystore. Never served. */
  privateJwk: JWK & { kid: string };
  publicJwks: { keys: JWK[] };
}

const ALG = "ES256";

/**
 * The sandbox issuer's signing key, made once per data directory. Several processes may race to make
 * it; the exclusive create means exactly one wins and the others read what it wrote.
 */
export async function loadOrCreateIssuerKeys(dataDir: string): Promise<IssuerKeys> {
  const dir = join(dataDir, "issuer");
  const privateFile = join(dir, "signing-key.json");
  const jwksFile = join(dir, "jwks.json");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = `sandbox-${Date.now().toString(36)}`;
    const priv = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: "sig" };
    const pub = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" };
    writeFileSync(privateFile, JSON.stringify(priv), { flag: "wx", mode: 0o600 });
    writeFileSync(jwksFile, JSON.stringify({ keys: [pub] }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const priv = readJsonEventually(privateFile) as JWK & { kid: string };
  const publicJwks = readJsonEventually(jwksFile) as { keys: JWK[] };
  return {
    kid: priv.kid,
    privateKey: (await importJWK(priv, ALG)) as webcrypto.CryptoKey,
    privateJwk: priv,
    publicJwks,
  };
}

// The winner writes the private key, then the JWKS; a loser may look in between.
function readJsonEventually(file: string): unknown {
  for (let i = 0; ; i++) {
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      if (i > 200) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

export const ISSUER_ALG = ALG;
