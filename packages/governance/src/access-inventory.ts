import type { Store } from "@gatehouse/store";
import { type Revocation, Revocations } from "./revocations.ts";

/** One access token a person used, as the servers saw it. */
export interface TokenInUse {
  tokenId: string;
  clientId: string;
  /** When the token expires (ISO), when known. */
  expiresAt: string | null;
  /** Still valid by its expiry (and not revoked): it could be used right now. */
  live: boolean;
  servers: string[];
  lastSeen: string;
  revoked?: Revocation;
}

/** A client a person reached the servers through. */
export interface ClientAccess {
  clientId: string;
  /** The name it registered with at the identity provider, when known. */
  name: string | null;
  servers: string[];
  firstSeen: string;
  lastSeen: string;
  revoked?: Revocation;
}

/** One person's access: through which clients, to which servers, over which transports, from when to when. */
export interface PersonAccess {
  person: string;
  tenant: string;
  clients: ClientAccess[];
  servers: string[];
  transports: string[];
  environments: string[];
  firstSeen: string;
  lastSeen: string;
  tokens: TokenInUse[];
  /** Set when the person is revoked. */
  revoked?: Revocation;
}

export interface AccessInventoryOptions {
  /** Only this person. */
  person?: string;
  /** Client names by client id (from the identity provider's registrations). */
  clientNames?: Record<string, string>;
  /** Tokens that expired more than this long ago are left out (default a day). */
  expiredTokensFor?: number;
  now?: Date;
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
const min = (a: string, b: string) => (a < b ? a : b);
const max = (a: string, b: string) => (a > b ? a : b);

/**
 * Who has access from where: per person, the clients, servers, transports and environments they used, first
 * and last seen, and the tokens in use, with any revocation that covers them. Read from the access-seen table
 * the pipeline keeps (last seen is accurate to about a minute) and the revocation list. The console and
 * `gatehouse access list` both call this.
 */
export async function accessInventory(
  store: Store,
  opts: AccessInventoryOptions = {},
): Promise<PersonAccess[]> {
  const now = opts.now ?? new Date();
  let query = store.db.selectFrom("access_seen").selectAll();
  if (opts.person !== undefined) query = query.where("user_id", "=", opts.person);
  const [rows, revocations] = await Promise.all([
    query.orderBy("user_id").execute(),
    new Revocations(store, 0).list(),
  ]);
  const revoked = (kind: Revocation["kind"], value: string) =>
    revocations.find((r) => r.kind === kind && r.value === value);
  const oldestToken = new Date(now.getTime() - (opts.expiredTokensFor ?? 86_400_000)).toISOString();

  const people = new Map<
    string,
    PersonAccess & { byClient: Map<string, ClientAccess>; byToken: Map<string, TokenInUse> }
  >();
  for (const r of rows) {
    let p = people.get(r.user_id);
    if (!p) {
      p = {
        person: r.user_id,
        tenant: r.tenant,
        clients: [],
        servers: [],
        transports: [],
        environments: [],
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        tokens: [],
        ...(revoked("subject", r.user_id) ? { revoked: revoked("subject", r.user_id) } : {}),
        byClient: new Map(),
        byToken: new Map(),
      };
      people.set(r.user_id, p);
    }
    p.servers.push(r.server);
    p.transports.push(r.transport);
    p.environments.push(r.env);
    p.firstSeen = min(p.firstSeen, r.first_seen);
    if (r.last_seen >= p.lastSeen) {
      p.lastSeen = r.last_seen;
      p.tenant = r.tenant;
    }

    const c = p.byClient.get(r.client_id);
    if (c) {
      c.servers = sorted([...c.servers, r.server]);
      c.firstSeen = min(c.firstSeen, r.first_seen);
      c.lastSeen = max(c.lastSeen, r.last_seen);
    } else {
      const clientRevoked = revoked("client", r.client_id);
      p.byClient.set(r.client_id, {
        clientId: r.client_id,
        name: opts.clientNames?.[r.client_id] ?? null,
        servers: [r.server],
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        ...(clientRevoked ? { revoked: clientRevoked } : {}),
      });
    }

    if (r.token_expires_at !== null && r.token_expires_at < oldestToken) continue;
    const t = p.byToken.get(r.token_id);
    if (t) {
      t.servers = sorted([...t.servers, r.server]);
      t.lastSeen = max(t.lastSeen, r.last_seen);
    } else {
      const tokenRevoked = revoked("token", r.token_id);
      p.byToken.set(r.token_id, {
        tokenId: r.token_id,
        clientId: r.client_id,
        expiresAt: r.token_expires_at,
        live: false,
        servers: [r.server],
        lastSeen: r.last_seen,
        ...(tokenRevoked ? { revoked: tokenRevoked } : {}),
      });
    }
  }

  return [...people.values()].map(({ byClient, byToken, ...p }) => {
    const tokens = [...byToken.values()]
      .map((t) => ({
        ...t,
        live:
          (t.expiresAt === null || t.expiresAt > now.toISOString()) &&
          !t.revoked &&
          !p.revoked &&
          !byClient.get(t.clientId)?.revoked,
      }))
      .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0));
    return {
      ...p,
      clients: [...byClient.values()].sort((a, b) => a.clientId.localeCompare(b.clientId)),
      servers: sorted(p.servers),
      transports: sorted(p.transports),
      environments: sorted(p.environments),
      tokens,
    };
  });
}
