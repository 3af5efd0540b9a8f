import type { SandboxStorage } from "./storage-adapter.ts";

/**
 * Where the issuer learns what an operator revoked: Gatehouse's revocation list (governance's
 * `Revocations` fits as it is). Structural, so the sandbox does not depend on the governance package.
 */
export interface RevocationFeed {
  list(): Promise<ReadonlyArray<{ kind: string; value: string }>>;
}

export interface RevokedNow {
  subject(sub: string): boolean;
  client(clientId: string): boolean;
  token(jti: string): boolean;
}

/**
 * Keeps the issuer's state in line with the revocation list. Before each request that could mint a token
 * (sign-in, authorize, token, exchange) it reads the list afresh and destroys what a revoked person, client
 * or token holds at the issuer (grants, refresh tokens, sessions, codes), so a refresh after a revocation
 * is refused however soon it comes. Re-applying every revocation each time keeps it idempotent and catches
 * anything a person managed to obtain in between.
 */
export class RevocationEnforcer {
  private readonly feed: RevocationFeed;
  private readonly storage: SandboxStorage;

  constructor(feed: RevocationFeed, storage: SandboxStorage) {
    this.feed = feed;
    this.storage = storage;
  }

  async apply(): Promise<RevokedNow> {
    const list = await this.feed.list();
    const sets = { subject: new Set<string>(), client: new Set<string>(), token: new Set<string>() };
    for (const r of list) {
      if (r.kind !== "subject" && r.kind !== "client" && r.kind !== "token") continue;
      sets[r.kind].add(r.value);
      this.storage.revokeAccess(r.kind, r.value);
    }
    return {
      subject: (sub) => sets.subject.has(sub),
      client: (id) => sets.client.has(id),
      token: (jti) => sets.token.has(jti),
    };
  }
}
