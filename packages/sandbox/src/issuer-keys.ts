import { createPrivateKey, generateKeyPairSync, type webcrypto } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { JWK } from "jose";

/** The key the issuer signs with now, and the keys verifiers should accept now. */
export interface IssuerKeys {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  /** The same key as a JWK, for the authorization server's keystore. Never served. */
  privateJwk: JWK & { kid: string };
  /** Every published key: the signer, a successor announced ahead of signing, a predecessor retiring. */
  publicJwks: { keys: JWK[] };
  /** The published keys' private halves, the signer first: the authorization server's keystore. Never served. */
  privateJwks: Array<JWK & { kid: string }>;
  /**
   * The latest expiry (epoch seconds) a token signed now may carry: the signer's retirement once a
   * successor is announced, and never more than the keystore's longest token life from now.
   */
  notAfter: number;
}

/** One signing key and its schedule (epoch milliseconds). */
interface StoredKey {
  kid: string;
  /** Private JWK (kid, alg, use included). Deleted from the file once the key is retired. */
  jwk: JWK & { kid: string };
  /** In the JWKS from here on. */
  publishedAt: number;
  /** Signs from here on, until a later key's signsFrom. */
  signsFrom: number;
  /** Gone from the JWKS from here on; set when a successor is announced. */
  retiresAt?: number;
}

interface KeyStoreFile {
  version: 1;
  /** The longest life of any token this issuer signs: how long a replaced key stays published. */
  maxTokenTtlSeconds: number;
  keys: StoredKey[];
}

export interface KeyStatus {
  kid: string;
  state: "announced" | "signing" | "retiring" | "retired";
  publishedAt: Date;
  signsFrom: Date;
  retiresAt?: Date;
}

const ALG = "ES256";
export const ISSUER_ALG = ALG;
/** A day: `gatehouse token --ttl` allows up to 86400 s, so a replaced key must outlive that. */
export const DEFAULT_MAX_TOKEN_TTL = 86_400;
/**
 * How long a new key is published before it signs. Servers refetch the JWKS on an unknown kid at most
 * once per 30 s (the verifier's cooldown); a key published longer ago than that is in any JWKS a
 * server fetched after it first sees the key, so no valid token is refused.
 */
export const DEFAULT_PUBLISH_LEAD = 60;
/**
 * Servers accept a token up to 30 s past its expiry (clock skew between machines), so a replaced key
 * stays published that much longer than the last token it signed lives.
 */
export const VERIFIER_CLOCK_TOLERANCE = 30;

const files = (dataDir: string) => {
  const dir = join(dataDir, "issuer");
  return {
    dir,
    store: join(dir, "keys.json"),
    legacy: join(dir, "signing-key.json"),
    jwks: join(dir, "jwks.json"),
    lock: join(dir, "keys.lock"),
  };
};

function newKey(now: number, signsFrom: number): StoredKey {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // Time-ordered and unique even for two keys made in the same millisecond by different processes.
  const kid = `sandbox-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const jwk = { ...(privateKey.export({ format: "jwk" }) as JWK), kid, alg: ALG, use: "sig" };
  return { kid, jwk, publishedAt: now, signsFrom };
}

const isRetired = (k: StoredKey, now: number) => k.retiresAt !== undefined && k.retiresAt <= now;

/** The signer at `now`: the live key that started signing last. */
function signerAt(store: KeyStoreFile, now: number): StoredKey {
  const live = store.keys.filter((k) => !isRetired(k, now) && k.signsFrom <= now);
  const signer = live.sort((a, b) => b.signsFrom - a.signsFrom)[0];
  if (!signer) throw new Error("the issuer keystore has no key that may sign now; run gatehouse keys rotate");
  return signer;
}

const publishedAt = (store: KeyStoreFile, now: number) =>
  store.keys.filter((k) => k.publishedAt <= now && !isRetired(k, now));

function publicJwk(k: StoredKey): JWK {
  const { d: _d, ...pub } = k.jwk;
  return pub;
}

/** Keys published at `now`, the signer first (oidc-provider signs with the first key that fits). */
function publishedJwks(store: KeyStoreFile, now: number): StoredKey[] {
  const signer = signerAt(store, now);
  return [signer, ...publishedAt(store, now).filter((k) => k.kid !== signer.kid)];
}

/**
 * The next moment (epoch ms) at which the published keys or the signer change, if any is scheduled:
 * a holder of the keys must look again then even if the file has not changed.
 */
function nextChange(store: KeyStoreFile, now: number): number {
  const times = store.keys.flatMap((k) => [k.publishedAt, k.signsFrom, k.retiresAt ?? Infinity]);
  return Math.min(...times.filter((t) => t > now), Infinity);
}

function viewAt(store: KeyStoreFile, now: number): IssuerKeys {
  const signer = signerAt(store, now);
  const limit = Math.floor(now / 1000) + store.maxTokenTtlSeconds;
  const notAfter =
    signer.retiresAt !== undefined
      ? Math.min(limit, Math.floor(signer.retiresAt / 1000) - VERIFIER_CLOCK_TOLERANCE)
      : limit;
  return {
    kid: signer.kid,
    privateKey: createPrivateKey({ key: signer.jwk, format: "jwk" }).toCryptoKey(
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign"],
    ) as webcrypto.CryptoKey,
    privateJwk: signer.jwk,
    publicJwks: { keys: publishedJwks(store, now).map(publicJwk) },
    privateJwks: publishedJwks(store, now).map((k) => k.jwk),
    notAfter,
  };
}

function readStore(file: string): KeyStoreFile | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as KeyStoreFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`the issuer keystore ${file} is unreadable: ${(err as Error).message}`);
  }
}

function writeAtomic(file: string, text: string, mode: number) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** Writes the keystore (private) and the published JWKS (stdio servers verify offline against it). */
function writeStore(dataDir: string, store: KeyStoreFile, now: number) {
  const f = files(dataDir);
  writeAtomic(f.store, JSON.stringify(store, null, 2), 0o600);
  writeAtomic(f.jwks, JSON.stringify({ keys: publishedJwks(store, now).map(publicJwk) }), 0o644);
}

/** Runs `fn` holding the keystore's lock file, so a rotation and a clean-up never lose each other's write. */
function withLock<T>(dataDir: string, fn: () => T): T {
  const { lock } = files(dataDir);
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // A holder that died leaves the file behind; nothing holds the lock for seconds.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) unlinkSync(lock);
      } catch {}
      if (i > 1000)
        throw new Error(`the issuer keystore lock ${lock} is held; remove it if no gatehouse runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {}
  }
}

/** Reads the keystore, making it (or importing the single key of an older data directory) if there is none. */
function ensureStore(dataDir: string, opts: { maxTokenTtlSeconds?: number } = {}): KeyStoreFile {
  const f = files(dataDir);
  const existing = readStore(f.store);
  if (existing) return existing;
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  return withLock(dataDir, () => {
    const raced = readStore(f.store);
    if (raced) return raced;
    const now = Date.now();
    let first: StoredKey;
    try {
      const jwk = JSON.parse(readFileSync(f.legacy, "utf8")) as JWK & { kid: string };
      first = { kid: jwk.kid, jwk, publishedAt: 0, signsFrom: 0 };
    } catch {
      first = newKey(now, now);
    }
    const store: KeyStoreFile = {
      version: 1,
      maxTokenTtlSeconds: opts.maxTokenTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL,
      keys: [first],
    };
    writeStore(dataDir, store, now);
    return store;
  });
}

/**
 * The sandbox issuer's signing keys, made once per data directory (several processes may race to make
 * them; a lock file means exactly one wins). Returns the key that signs now and the keys published now.
 */
export async function loadOrCreateIssuerKeys(
  dataDir: string,
  opts: { maxTokenTtlSeconds?: number } = {},
): Promise<IssuerKeys> {
  return viewAt(ensureStore(dataDir, opts), Date.now());
}

/**
 * The issuer process's view of its keys: re-read when the keystore file changes (a rotation from another
 * process) or a scheduled change falls due (a new key starts signing, an old one retires).
 */
export class IssuerKeySource {
  private readonly dataDir: string;
  private mtime = -1;
  private store!: KeyStoreFile;
  private view!: IssuerKeys;
  private validUntil = 0;
  private checkedAt = 0;

  constructor(dataDir: string, opts: { maxTokenTtlSeconds?: number } = {}) {
    this.dataDir = dataDir;
    ensureStore(dataDir, opts);
    this.current();
  }

  /** The keys now; cheap enough to call on every request (one stat at most every 200 ms). */
  current(): IssuerKeys {
    const now = Date.now();
    if (now - this.checkedAt >= 200 || now >= this.validUntil) {
      this.checkedAt = now;
      const mtime = statSync(files(this.dataDir).store).mtimeMs;
      if (mtime !== this.mtime || now >= this.validUntil) {
        const store = readStore(files(this.dataDir).store);
        if (store) this.store = store;
        this.mtime = mtime;
        this.view = viewAt(this.store, now);
        this.validUntil = nextChange(this.store, now);
        if (this.store.keys.some((k) => isRetired(k, now))) this.pruneRetired();
      }
    }
    // Tokens signed later than this view was made still may not outlive the signer's retirement.
    return this.view;
  }

  /** Keys that have retired leave the keystore (their private half is destroyed) and the JWKS file. */
  private pruneRetired() {
    withLock(this.dataDir, () => {
      const now = Date.now();
      const store = readStore(files(this.dataDir).store);
      if (!store?.keys.some((k) => isRetired(k, now))) return;
      store.keys = store.keys.filter((k) => !isRetired(k, now));
      writeStore(this.dataDir, store, now);
      this.store = store;
      this.mtime = statSync(files(this.dataDir).store).mtimeMs;
    });
  }
}

export class KeyRotationError extends Error {}

/**
 * Starts a rotation: a new key is published now and signs from `now + leadSeconds`; the key signing
 * now keeps signing until then and stays published until every token it can have signed has expired
 * (the keystore's longest token life after the new key takes over, plus the verifiers' clock tolerance).
 * Nothing has to run at those times:
 * the issuer and every command follow the schedule in the keystore.
 */
export function rotateIssuerKeys(
  dataDir: string,
  opts: { leadSeconds?: number; now?: number } = {},
): { added: KeyStatus; replaced: KeyStatus } {
  const lead = opts.leadSeconds ?? DEFAULT_PUBLISH_LEAD;
  if (!Number.isFinite(lead) || lead < 0) throw new KeyRotationError("the publish lead must be ≥ 0 seconds");
  ensureStore(dataDir);
  return withLock(dataDir, () => {
    const now = opts.now ?? Date.now();
    const store = readStore(files(dataDir).store)!;
    store.keys = store.keys.filter((k) => !isRetired(k, now));
    const pending = store.keys.find((k) => k.signsFrom > now);
    if (pending)
      throw new KeyRotationError(
        `a rotation is already under way: key ${pending.kid} signs from ${new Date(pending.signsFrom).toISOString()}; rotate again after that`,
      );
    const current = signerAt(store, now);
    const next = newKey(now, now + lead * 1000);
    current.retiresAt = next.signsFrom + (store.maxTokenTtlSeconds + VERIFIER_CLOCK_TOLERANCE) * 1000;
    store.keys.push(next);
    writeStore(dataDir, store, now);
    return { added: statusOf(next, now, current.kid), replaced: statusOf(current, now, current.kid) };
  });
}

function statusOf(k: StoredKey, now: number, signerKid: string): KeyStatus {
  const state = isRetired(k, now)
    ? "retired"
    : k.kid === signerKid
      ? "signing"
      : k.signsFrom > now
        ? "announced"
        : "retiring";
  return {
    kid: k.kid,
    state,
    publishedAt: new Date(k.publishedAt),
    signsFrom: new Date(k.signsFrom),
    ...(k.retiresAt !== undefined ? { retiresAt: new Date(k.retiresAt) } : {}),
  };
}

/** Every key in the keystore and where it is in its life. */
export function describeIssuerKeys(dataDir: string): { maxTokenTtlSeconds: number; keys: KeyStatus[] } {
  const store = ensureStore(dataDir);
  const now = Date.now();
  const signer = signerAt(store, now).kid;
  return {
    maxTokenTtlSeconds: store.maxTokenTtlSeconds,
    keys: store.keys.map((k) => statusOf(k, now, signer)),
  };
}
