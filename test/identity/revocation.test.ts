import { accessInventory, Revocations } from "@gatehouse/governance";
import { outcomeOf } from "@gatehouse/kit";
import { mintToken } from "@gatehouse/sandbox/issuer";
import { connectHttp, createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeMatrix } from "../setup/stores.ts";
import { type ServerName, startAllServers } from "../support/all-servers.ts";
import { runCliAsync } from "../support/cli.ts";
import { connectWithSignIn, RecordingOAuthProvider } from "../support/oauth-client.ts";
import { outcomeEvent } from "../support/results.ts";
import { EMEA_ORDER } from "../support/servers.ts";

/** What every server promises: a revocation refuses the revoked access within this long. */
const WITHIN_MS = 2000;

/** One call per server that alice (support agent, emea) may make. */
const CALLS: Record<ServerName, { name: string; arguments: Record<string, unknown> }> = {
  "order-lookup": { name: "get_order", arguments: { order_id: EMEA_ORDER } },
  "crm-read": { name: "get_company", arguments: { company_id: "1001" } },
  "ticket-draft": { name: "list_ticket_drafts", arguments: {} },
  "ticket-send": { name: "send_ticket", arguments: { draft_id: "TD-00000000", dry_run: true } },
  business: { name: "account_health", arguments: { account: "1001" } },
};

type CallResult = Awaited<ReturnType<Client["callTool"]>>;

/** Calls until the identity stage refuses (or `limitMs` passes); answers the refusal and when it came. */
async function untilRefused(client: Client, call: (typeof CALLS)[ServerName], limitMs = 10_000) {
  const start = Date.now();
  for (;;) {
    const result = (await client.callTool(call)) as CallResult;
    if (outcomeOf(result)?.stage === "identity") return { result, at: Date.now() };
    if (Date.now() - start > limitMs) throw new Error(`${call.name} was still served ${limitMs} ms on`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stageOf = (r: unknown) => outcomeOf(r as CallResult)?.stage;

/**
 * Revocation end to end, on real server processes sharing one store with a real sandbox issuer: a person,
 * a client or one token revoked is refused on every server within 2 s of the revocation (though each
 * server holds its token verified in cache), audited at the identity stage; the issuer will not refresh
 * or sign the person in again; nothing else is affected; bad CLI input changes nothing.
 */
describe.each(storeMatrix())("revocation ($storeKind store)", (store) => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  const clients: Client[] = [];

  /** A real MCP client of `server` for `user`, through `clientId`, with a freshly minted token. */
  const connect = async (user: string, server: ServerName, clientId: string) => {
    const token = await mintToken(env.issuer.keys, {
      issuer: env.issuer.url,
      user,
      audience: world.servers[server].url,
      clientId,
    });
    const client = await connectHttp(world.servers[server].url, token);
    clients.push(client);
    return { client, jti: decodeJwt(token).jti as string };
  };

  beforeAll(async () => {
    env = await createTestEnvironment(store);
    // Five servers start at once on a shared 2-core machine: give each 100 s, not the default 30 s.
    world = await startAllServers(env, { startTimeoutMs: 100_000 });
  }, 150_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await world?.stop();
    await env?.close();
  });

  it("refuses one revoked token while the person's other token keeps working", async () => {
    const first = await connect("erin", "order-lookup", "erin-laptop");
    const second = await connect("erin", "order-lookup", "erin-laptop");
    const call = { name: "get_order", arguments: { order_id: "SO-100200" } };
    expect((await first.client.callTool(call)).isError).toBe(false);

    // What the console calls: the governance API on the shared store.
    const { revocation } = await new Revocations(env.store, 0).revoke({
      kind: "token",
      value: first.jti,
      reason: "token pasted into a ticket",
      by: "test-operator",
    });
    const refused = await untilRefused(first.client, call);
    expect(refused.at - Date.parse(revocation.revokedAt)).toBeLessThan(WITHIN_MS);
    expect(outcomeOf(refused.result)).toMatchObject({ status: "denied", code: "revoked", revoked: "token" });
    const event = await outcomeEvent(env.audit, refused.result);
    expect(event).toMatchObject({ type: "tool.denied", user_id: "erin", token_id: first.jti });
    expect(event.detail).toMatchObject({ stage: "identity", revocation: revocation.id });

    expect((await second.client.callTool(call)).isError).toBe(false);
  });

  it("refuses a revoked client's tokens while the person's other clients work", async () => {
    const rogue = await connect("bob", "order-lookup", "rogue-agent");
    const desktop = await connect("bob", "order-lookup", "claude-desktop");
    const call = { name: "get_order", arguments: { order_id: "SO-100200" } };
    expect((await rogue.client.callTool(call)).isError).toBe(false);

    const { revocation } = await new Revocations(env.store, 0).revoke({
      kind: "client",
      value: "rogue-agent",
      reason: "prompt-injected agent",
      by: "test-operator",
    });
    const refused = await untilRefused(rogue.client, call);
    expect(refused.at - Date.parse(revocation.revokedAt)).toBeLessThan(WITHIN_MS);
    expect(outcomeOf(refused.result)?.revoked).toBe("client");
    expect((await outcomeEvent(env.audit, refused.result)).detail).toMatchObject({
      stage: "identity",
      revoked: "client",
    });
    // A new token for the revoked client is refused as well; another client of bob's is not.
    const fresh = await connect("bob", "order-lookup", "rogue-agent");
    expect(stageOf(await fresh.client.callTool(call))).toBe("identity");
    expect((await desktop.client.callTool(call)).isError).toBe(false);
  });

  it("alice revoked by the CLI: her next call on every server is refused within 2 s and audited; the issuer refreshes nothing and will not sign her in", async () => {
    const servers = Object.keys(CALLS) as ServerName[];
    const held = await Promise.all(servers.map((s) => connect("alice", s, "alice-laptop")));
    // Her MCP host signed her in for real (code + PKCE) and holds an access and a refresh token.
    const provider = new RecordingOAuthProvider();
    const signedIn = await connectWithSignIn(world.servers["order-lookup"].url, "alice", provider);
    clients.push(signedIn.client);
    const refresh = async (refreshToken: string) => {
      const res = await fetch(`${env.issuer.url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          client_id: provider.client!.client_id,
          refresh_token: refreshToken,
        }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    // Before: every server serves her (none refuses at identity), and a refresh works.
    const before = await Promise.all(held.map((h, i) => h.client.callTool(CALLS[servers[i]!])));
    expect(before.map(stageOf)).not.toContain("identity");
    expect(before[0]!.isError).toBe(false);
    expect((await signedIn.client.callTool(CALLS["order-lookup"])).isError).toBe(false);
    const refreshed = await refresh(provider.saved!.refresh_token!);
    expect(refreshed.status).toBe(200);
    const refreshToken = refreshed.body.refresh_token!;

    const cli = await runCliAsync(["revoke", "person", "alice", "--reason", "laptop stolen"], env.env);
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    const [revocation] = (await new Revocations(env.store, 0).list()).filter((r) => r.value === "alice");
    expect(revocation).toMatchObject({ kind: "subject", reason: "laptop stolen" });

    const refusals = await Promise.all(held.map((h, i) => untilRefused(h.client, CALLS[servers[i]!])));
    for (const [i, refused] of refusals.entries()) {
      expect(refused.at - Date.parse(revocation!.revokedAt), servers[i]).toBeLessThan(WITHIN_MS);
      expect(refused.result.isError).toBe(true);
      expect(outcomeOf(refused.result)).toEqual({
        status: "denied",
        stage: "identity",
        decision: "deny",
        code: "revoked",
        revoked: "subject",
      });
      const event = await outcomeEvent(env.audit, refused.result);
      expect(event).toMatchObject({
        type: "tool.denied",
        server: servers[i],
        user_id: "alice",
        outcome: "denied at identity",
      });
      expect(event.detail).toMatchObject({
        stage: "identity",
        revoked: "subject",
        revocation: revocation!.id,
      });
    }
    // The token her host got from the issuer is refused too, and the issuer will give her no other.
    expect(stageOf(await signedIn.client.callTool(CALLS["order-lookup"]))).toBe("identity");
    const again = await refresh(refreshToken);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe("invalid_grant");
    await expect(
      connectWithSignIn(world.servers["order-lookup"].url, "alice", new RecordingOAuthProvider()),
    ).rejects.toThrow(/revoked/);

    // The operator's act is on the record; carol, in the same tenant, is not affected.
    const revoked = (await env.audit.latest(500)).filter((e) => e.type === "access.revoked");
    expect(revoked).toHaveLength(1);
    expect(JSON.parse(revoked[0]!.detail)).toMatchObject({
      revoked: "subject",
      value: "alice",
      reason: "laptop stolen",
    });
    expect(revoked[0]!.env).toBe("operator");
    const carol = await connect("carol", "order-lookup", "alice-laptop-colleague");
    expect((await carol.client.callTool(CALLS["order-lookup"])).isError).toBe(false);

    // Who had access from where: alice's clients, servers and tokens, all marked revoked.
    const [alice] = await accessInventory(env.store, { person: "alice" });
    expect(alice!.revoked?.id).toBe(revocation!.id);
    expect(alice!.servers).toEqual([...servers].sort());
    expect(alice!.transports).toEqual(["http"]);
    expect(alice!.clients.map((c) => c.clientId)).toEqual(
      expect.arrayContaining(["alice-laptop", provider.client!.client_id]),
    );
    expect(alice!.tokens.length).toBeGreaterThanOrEqual(6);
    expect(alice!.tokens.every((t) => !t.live)).toBe(true);
    const list = await runCliAsync(["access", "list", "--person", "alice"], env.env);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain("alice (emea)");
    expect(list.stdout).toContain("REVOKED by");
    expect(list.stdout).toContain('"Gatehouse OAuth test"');
  });

  it("refuses bad revoke commands with a clear usage error and changes nothing", async () => {
    const before = await new Revocations(env.store, 0).list();
    const auditBefore = (await env.audit.latest(1))[0]!.seq;
    const attempts: Array<[string[], RegExp]> = [
      [["revoke", "person", "dave"], /--reason is required/],
      [["revoke", "people", "dave", "--reason", "x"], /cannot revoke a "people"/],
      [["revoke", "person", "mallory", "--reason", "x"], /no person "mallory"/],
      [["revoke", "token", "not-a-seen-jti", "--reason", "x"], /no token "not-a-seen-jti"/],
    ];
    const runs = await Promise.all(attempts.map(([args]) => runCliAsync(args, env.env)));
    for (const [i, run] of runs.entries()) {
      expect(run.status, attempts[i]![0].join(" ")).toBe(2);
      expect(run.stderr).toMatch(attempts[i]![1]);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(await new Revocations(env.store, 0).list()).toEqual(before);
    expect((await env.audit.latest(1))[0]!.seq).toBe(auditBefore);
    const dave = await connect("dave", "order-lookup", "dave-laptop");
    expect((await dave.client.callTool(CALLS["order-lookup"])).isError).toBe(false);
  });
});
