import { type ChildProcess, fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverScopes } from "@gatehouse/kit";
import { mintToken } from "@gatehouse/sandbox/issuer";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliAsync } from "../support/cli.ts";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { definitionOf, EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { signIn } from "../support/sign-in.ts";

const ISSUER_PROCESS = join(import.meta.dirname, "fixtures", "issuer-process.ts");
/** Servers refetch keys on an unknown kid at most every 30 s: a lead just over that is the shortest safe one. */
const LEAD = 32;
/** The keystore's longest token life here: how long the replaced key stays published after the switch. */
const MAX_TTL = 15;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/**
 * A few clients calling in a loop (paced, so two loaded CPUs still serve the test's own steps): each
 * call gets a freshly minted token; every non-200 answer is kept to be reported.
 */
function startLoad(
  mint: () => Promise<string>,
  call: (token: string) => Promise<{ status: number; body: string }>,
  clients = 3,
) {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (running) {
      try {
        const res = await call(await mint());
        calls++;
        if (res.status !== 200) failures.push(`${res.status} ${res.body.slice(0, 200)}`);
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const done = Promise.all(Array.from({ length: clients }, worker));
  return {
    calls: () => calls,
    stop: async () => {
      running = false;
      await done;
      return failures;
    },
  };
}

/** The sandbox issuer in its own process, on its own data directory. */
async function spawnIssuer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(ISSUER_PROCESS, [], {
    env: { ...process.env, ISSUER_DATA_DIR: dataDir, ISSUER_MAX_TOKEN_TTL: String(MAX_TTL) },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const [m] = (await once(child, "message")) as [{ url: string }];
  return { url: m.url, child };
}

/**
 * A rotation of the sandbox issuer's signing key while a real server process verifies tokens: every
 * token valid before, during and after the rotation keeps working, and the retired key stops working.
 */
describe("issuer signing keys rotate without downtime", () => {
  let env: TestEnvironment;
  let keysDir: string;
  let issuer: { url: string; child: ChildProcess };
  let server: SpawnedServer;
  let serverEnv: Record<string, string>;
  const started: SpawnedServer[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    keysDir = mkdtempSync(join(tmpdir(), "gatehouse-keys-"));
    issuer = await spawnIssuer(keysDir);
    serverEnv = { ...env.env, ...RELAXED_LIMITS, GATEHOUSE_ISSUER: issuer.url };
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, serverEnv);
    started.push(server);
    issuer.child.send({
      resource: server.url,
      scopes: serverScopes(await definitionOf(ORDER_LOOKUP_ENTRY)),
    });
    await once(issuer.child, "message");
  });

  let load: ReturnType<typeof startLoad> | undefined;

  afterAll(async () => {
    await load?.stop();
    await Promise.all(started.map((s) => s.stop()));
    issuer?.child.kill("SIGTERM");
    await env?.close();
    rmSync(keysDir, { recursive: true, force: true });
  });

  /** A token signed by whichever key the keystore says signs now, as `gatehouse token` would mint it. */
  const mint = async (ttlSeconds = MAX_TTL) =>
    mintToken(await loadOrCreateIssuerKeys(keysDir), {
      issuer: issuer.url,
      user: "alice",
      audience: server.url,
      ttlSeconds,
    });
  const call = (token: string, at = server) =>
    rawRequest(at.url, {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: callToolBody("get_order", { order_id: EMEA_ORDER }),
    });
  const published = async () =>
    ((await (await fetch(`${issuer.url}/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const keysCli = (...args: string[]) => runCliAsync(["keys", ...args], { GATEHOUSE_DATA_DIR: keysDir });

  /** A token for alice from the authorization server itself (sign-in, code, PKCE), not the keystore. */
  const signedInToken = async () => {
    const redirect = "http://127.0.0.1:6274/oauth/callback";
    const reg = await fetch(`${issuer.url}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: "none" }),
    });
    const { client_id } = (await reg.json()) as { client_id: string };
    const verifier = randomBytes(32).toString("base64url");
    const u = new URL(`${issuer.url}/authorize`);
    for (const [k, v] of Object.entries({
      client_id,
      response_type: "code",
      redirect_uri: redirect,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
      resource: server.url,
    }))
      u.searchParams.set(k, v);
    const { callback } = await signIn(u, "alice");
    const res = await fetch(`${issuer.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id,
        code: callback.searchParams.get("code") ?? "",
        code_verifier: verifier,
        redirect_uri: redirect,
      }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  it("publishes the new key first, switches signing after the lead, and retires the old key after its last token expires", async () => {
    // Before: one key signs and is published; the server fetches it on its first call.
    const oldKid = (await loadOrCreateIssuerKeys(keysDir)).kid;
    const oldPrivate = (
      JSON.parse(readFileSync(join(keysDir, "issuer", "keys.json"), "utf8")) as {
        keys: Array<{ kid: string; jwk: JWK }>;
      }
    ).keys.find((k) => k.kid === oldKid)!.jwk;
    const before = await mint(3600);
    expect((await call(before)).status).toBe(200);
    expect(await published()).toEqual([oldKid]);

    // A load run across the whole rotation: clients keep minting tokens from whichever key signs and
    // calling the server; none of these valid calls may fail.
    load = startLoad(
      () => mint(),
      (token) => call(token),
    );

    // Rotate, from another process, as an operator would.
    const rotated = await keysCli("rotate", "--lead", String(LEAD));
    expect(rotated.status, rotated.stderr).toBe(0);
    const newKid = /published (\S+);/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeTruthy();
    const signsFrom = Date.parse(/signs from (\S+)/.exec(rotated.stdout)![1]!);
    const retiresAt = Date.parse(/published until (\S+)/.exec(rotated.stdout)![1]!);
    expect(signsFrom - Date.now()).toBeGreaterThan((LEAD - 5) * 1000);
    expect(retiresAt - signsFrom).toBe((MAX_TTL + 30) * 1000);

    // During the lead: both keys are published, the old one still signs, and a second rotation waits.
    expect((await published()).sort()).toEqual([oldKid, newKid].sort());
    const during = await mint(3600);
    expect(kidOf(during)).toBe(oldKid);
    expect((await call(during)).status).toBe(200);
    // A token the old key signs now lives no longer than the old key stays published.
    expect(decodeJwt(during).exp).toBeLessThanOrEqual(Math.floor(retiresAt / 1000) - 30);
    expect((await call(before)).status).toBe(200);
    const again = await keysCli("rotate");
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/a rotation is already under way: key \S+ signs from/);

    // Just before the switch the old key signs one more token; it must outlive the switch.
    await sleepUntil(signsFrom - 1500);
    const lastOld = await mint();
    expect(kidOf(lastOld)).toBe(oldKid);

    // After the switch: the new key signs (keystore and authorization server alike), the server learns it
    // from the JWKS on its unknown kid, and the old key's tokens keep working until they expire.
    await sleepUntil(signsFrom + 500);
    const after = await mint();
    expect(kidOf(after)).toBe(newKid);
    const afterRes = await call(after);
    expect(afterRes.status, afterRes.body).toBe(200);
    expect((await call(lastOld)).status).toBe(200);
    const fromSignIn = await signedInToken();
    expect(kidOf(fromSignIn)).toBe(newKid);
    expect(decodeJwt(fromSignIn).exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + MAX_TTL + 1);
    expect((await call(fromSignIn)).status).toBe(200);
    expect((await keysCli("list")).stdout).toMatch(new RegExp(`retiring\\s+${oldKid}`));

    // After retirement: the old key is neither published nor kept, and every token it signed has expired
    // (by more than the 30 s servers allow for clock skew).
    await sleepUntil(retiresAt + 1000);
    expect(await published()).toEqual([newKid]);
    const list = await keysCli("list");
    expect(list.stdout).not.toContain(oldKid);
    expect(list.stdout).toMatch(new RegExp(`signing\\s+${newKid}`));
    expect(readFileSync(join(keysDir, "issuer", "jwks.json"), "utf8")).not.toContain(oldKid);
    const expired = await call(lastOld);
    expect(expired.status).toBe(401);
    expect(expired.headers["www-authenticate"]).toMatch(/expired/);
    const afterRetirement = await mint();
    expect(kidOf(afterRetirement)).toBe(newKid);
    expect((await call(afterRetirement)).status).toBe(200);
    const failed = await load.stop();
    expect(load.calls()).toBeGreaterThan(20);
    expect(failed).toEqual([]);

    // Someone who kept the retired private key signs a fresh token with it: a server holding the
    // issuer's current keys refuses it as signed by an unknown key, and audits the refusal.
    const fresh = await spawnHttpServer(ORDER_LOOKUP_ENTRY, serverEnv);
    started.push(fresh);
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ scope: "orders:read", tenant: "emea", roles: ["support_agent"] })
      .setProtectedHeader({ alg: "ES256", kid: oldKid, typ: "at+jwt" })
      .setIssuer(issuer.url)
      .setSubject("alice")
      .setAudience(fresh.url)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(`retired-${now}`)
      .sign(await importJWK(oldPrivate, "ES256"));
    const refused = await call(forged, fresh);
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toMatch(/signed by an unknown key/);
    const audited = (await env.audit.latest(50)).find(
      (e) => e.type === "auth.rejected" && e.detail.includes("signed by an unknown key"),
    );
    expect(audited).toBeTruthy();
  }, 150_000);
});
