import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ApprovalSubject, Approvals, type Identity, PolicyEngine } from "../src/index.ts";

let dir: string;
let store: Store;
let approvals: Approvals;

const person = (user: string, roles: string[]): Identity => ({
  user,
  roles,
  tenant: "emea",
  client: "test",
  env: "dev",
  tokenId: `t-${user}`,
  scopes: ["tickets:approve"],
});
const draft = (authors: string[]): ApprovalSubject => ({
  subjectType: "ticket_draft",
  id: "dr_aaaaaaaaaaaa",
  tenant: "emea",
  owner: "alice",
  authors,
  contentHash: "a".repeat(64),
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-approvals-"));
  store = openStore({ sqlitePath: join(dir, "store.sqlite") });
  await migrateToLatest(store);
  approvals = new Approvals(store, PolicyEngine.load([]), 3600);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("approvals at send time (defence in depth behind Cedar)", () => {
  it("refuses an approval whose approver has since become an author of the same content", async () => {
    const record = await approvals.decide(
      draft(["alice"]),
      person("dave", ["admin"]),
      "approved",
      "a".repeat(64),
      null,
    );
    expect(await approvals.usableFor(draft(["alice"]))).toMatchObject({
      ok: true,
      approval: { id: record.id },
    });
    // The same content, but the store now names dave among its authors (e.g. written by an older server).
    expect(await approvals.usableFor(draft(["alice", "dave"]))).toEqual({
      ok: false,
      reason:
        "dave wrote part of ticket_draft dr_aaaaaaaaaaaa and cannot approve it (four eyes); it needs a new approval",
    });
  });

  it("lets the claim inside the send's transaction fail once a newer decision exists", async () => {
    const first = await approvals.decide(
      draft(["alice"]),
      person("carol", ["approver"]),
      "approved",
      "a".repeat(64),
      null,
    );
    await approvals.decide(draft(["alice"]), person("dave", ["admin"]), "rejected", "a".repeat(64), first.id);
    const claim = await approvals.claim(store.db, first.id, draft(["alice"]), { user: "alice" });
    expect(claim).toEqual({ ok: false, reason: "ticket_draft dr_aaaaaaaaaaaa was rejected by dave" });
  });
});
