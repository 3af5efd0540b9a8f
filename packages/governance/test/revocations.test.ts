import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AccessSeen,
  accessInventory,
  type Identity,
  RevocationInputError,
  Revocations,
} from "../src/index.ts";

let dir: string;
let store: Store;

const alice = (
  tokenId: string,
  client = "inspector",
  expiresAt = Math.floor(Date.now() / 1000) + 600,
): Identity => ({
  user: "alice",
  roles: ["support_agent"],
  tenant: "emea",
  client,
  env: "dev",
  tokenId,
  scopes: [],
  expiresAt,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-revocations-"));
  store = openStore({ sqlitePath: join(dir, "store.sqlite") });
  await migrateToLatest(store);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the revocation list", () => {
  it("covers an identity by its person, its client or its token, and nothing else", async () => {
    const list = new Revocations(store, 0);
    await list.revoke({ kind: "client", value: "rogue", reason: "injected", by: "ops" });
    expect(await list.check(alice("t1"))).toBeUndefined();
    expect((await list.check(alice("t1", "rogue")))?.kind).toBe("client");
    await list.revoke({ kind: "token", value: "t2", reason: "leaked", by: "ops" });
    expect((await list.check(alice("t2")))?.kind).toBe("token");
    await list.revoke({ kind: "subject", value: "alice", reason: "left", by: "ops" });
    expect((await list.check(alice("t3")))?.kind).toBe("subject");
    expect(await list.check({ user: "bob", client: "inspector", tokenId: "t9" })).toBeUndefined();
  });

  it("keeps the first revocation when the same thing is revoked again", async () => {
    const list = new Revocations(store, 0);
    const first = await list.revoke({ kind: "subject", value: "alice", reason: "laptop stolen", by: "ops" });
    const second = await list.revoke({ kind: "subject", value: "alice", reason: "again", by: "someone" });
    expect(first.created).toBe(true);
    expect(second).toEqual({ revocation: first.revocation, created: false });
    expect(await list.list()).toHaveLength(1);
  });

  it("refuses malformed revocations, naming the problem, and stores nothing", async () => {
    const list = new Revocations(store, 0);
    const bad = [
      { kind: "person", value: "alice", reason: "x", by: "ops" },
      { kind: "subject", value: "", reason: "x", by: "ops" },
      { kind: "subject", value: "a b", reason: "x", by: "ops" },
      { kind: "subject", value: "x".repeat(257), reason: "x", by: "ops" },
      { kind: "subject", value: "alice", reason: "  ", by: "ops" },
      { kind: "subject", value: "alice", reason: "x".repeat(501), by: "ops" },
      { kind: "subject", value: "alice", reason: "x", by: "" },
    ];
    for (const input of bad)
      await expect(list.revoke(input as never), JSON.stringify(input).slice(0, 60)).rejects.toThrow(
        RevocationInputError,
      );
    expect(await list.list()).toEqual([]);
  });

  it("is read again once its cache is older than the TTL, not before", async () => {
    const cached = new Revocations(store, 300);
    expect(await cached.check(alice("t1"))).toBeUndefined();
    await new Revocations(store, 0).revoke({ kind: "subject", value: "alice", reason: "left", by: "ops" });
    expect(await cached.check(alice("t1"))).toBeUndefined();
    await new Promise((r) => setTimeout(r, 320));
    expect((await cached.check(alice("t1")))?.kind).toBe("subject");
  });
});

describe("the access inventory", () => {
  it("shows per person the clients, servers, transports, first and last seen, and the tokens in use", async () => {
    const seen = new AccessSeen(store);
    await seen.record(alice("t1"), { server: "order-lookup", transport: "http" });
    await seen.record(alice("t1"), { server: "crm-read", transport: "http" });
    await seen.record(alice("t2", "claude-desktop"), { server: "order-lookup", transport: "stdio" });
    await seen.record(alice("old", "inspector", Math.floor(Date.now() / 1000) - 60), {
      server: "order-lookup",
      transport: "http",
    });
    await seen.record(
      { ...alice("b1"), user: "bob", tenant: "na" },
      { server: "order-lookup", transport: "http" },
    );
    await new Revocations(store, 0).revoke({ kind: "token", value: "t2", reason: "leaked", by: "ops" });

    const [person, ...others] = await accessInventory(store, {
      person: "alice",
      clientNames: { inspector: "MCP Inspector" },
    });
    expect(others).toEqual([]);
    expect(person).toMatchObject({
      person: "alice",
      tenant: "emea",
      servers: ["crm-read", "order-lookup"],
      transports: ["http", "stdio"],
      environments: ["dev"],
    });
    expect(person!.revoked).toBeUndefined();
    expect(person!.clients).toEqual([
      expect.objectContaining({ clientId: "claude-desktop", name: null, servers: ["order-lookup"] }),
      expect.objectContaining({
        clientId: "inspector",
        name: "MCP Inspector",
        servers: ["crm-read", "order-lookup"],
      }),
    ]);
    const tokens = Object.fromEntries(person!.tokens.map((t) => [t.tokenId, t]));
    expect(tokens.t1).toMatchObject({ live: true, servers: ["crm-read", "order-lookup"] });
    expect(tokens.t2).toMatchObject({ live: false, revoked: expect.objectContaining({ reason: "leaked" }) });
    expect(tokens.old).toMatchObject({ live: false });
    expect((await accessInventory(store)).map((p) => p.person)).toEqual(["alice", "bob"]);
  });
});
