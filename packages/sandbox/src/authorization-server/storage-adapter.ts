import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Adapter, AdapterPayload } from "oidc-provider";

/** The models oidc-provider revokes by grant (as its own memory adapter does). */
const TOKEN_MODELS = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "DeviceCode",
  "BackchannelAuthenticationRequest",
  "ClientCredentials",
]);

interface Entry {
  payload: AdapterPayload;
  expiresAt?: number;
}

/**
 * Storage for the sandbox authorization server. Codes, sessions, grants and tokens live in memory (a
 * restart signs everyone out, which is what a local sandbox should do). Dynamically registered clients
 * are also written to a file, so an MCP client that registered once (MCP Inspector keeps its client id)
 * still works after `gatehouse start` is restarted. Clients added with `putEphemeralClient` (the
 * exchange clients configured at start-up) are never written.
 */
export class SandboxStorage {
  private readonly models = new Map<string, Map<string, Entry>>();
  private readonly ephemeralClients = new Set<string>();
  private readonly removedClients = new Set<string>();

  private readonly clientsFile: string;

  constructor(clientsFile: string) {
    this.clientsFile = clientsFile;
    for (const [id, payload] of Object.entries(this.readClients())) this.table("Client").set(id, { payload });
  }

  /** The class oidc-provider instantiates once per model ("Session", "Client", ...). */
  adapterClass(): new (name: string) => Adapter {
    const storage = this;
    return class implements Adapter {
      private readonly name: string;

      constructor(name: string) {
        this.name = name;
      }
      async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
        storage.put(this.name, id, payload, expiresIn);
      }
      async find(id: string) {
        return storage.get(this.name, id);
      }
      async findByUserCode(userCode: string) {
        return storage.findWhere(this.name, (p) => p.userCode === userCode);
      }
      async findByUid(uid: string) {
        return storage.findWhere(this.name, (p) => p.uid === uid);
      }
      async consume(id: string) {
        const entry = storage.table(this.name).get(id);
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      }
      async destroy(id: string) {
        storage.remove(this.name, id);
      }
      async revokeByGrantId(grantId: string) {
        // Only this model's tokens: an Interaction also carries a grantId, and deleting it would break a
        // sign-in in progress (e.g. switching person, which revokes the previous person's grant).
        if (!TOKEN_MODELS.has(this.name)) return;
        for (const [id, entry] of storage.table(this.name)) {
          if (entry.payload.grantId === grantId) storage.remove(this.name, id);
        }
      }
    };
  }

  /**
   * Destroys whatever would let a revoked person (`subject`), client or token get another access token:
   * grants, refresh tokens, authorization codes and stored access tokens, and sessions (a person's whole
   * session; a client's authorization within every session). Idempotent. Returns how many entries went.
   */
  revokeAccess(kind: "subject" | "client" | "token", value: string): number {
    let removed = 0;
    const matches = (id: string, p: AdapterPayload) =>
      kind === "subject"
        ? p.accountId === value
        : kind === "client"
          ? p.clientId === value
          : id === value || p.jti === value;
    for (const model of ["Grant", ...TOKEN_MODELS]) {
      for (const [id, entry] of this.table(model)) {
        if (matches(id, entry.payload)) {
          this.table(model).delete(id);
          removed++;
        }
      }
    }
    for (const [id, entry] of this.table("Session")) {
      const session = entry.payload as AdapterPayload & { authorizations?: Record<string, unknown> };
      if (kind === "subject" && session.accountId === value) {
        this.table("Session").delete(id);
        removed++;
      } else if (kind === "client" && session.authorizations && value in session.authorizations) {
        delete session.authorizations[value];
        removed++;
      }
    }
    return removed;
  }

  putEphemeralClient(id: string, metadata: AdapterPayload): void {
    this.ephemeralClients.add(id);
    this.table("Client").set(id, { payload: { ...metadata, client_id: id } });
  }

  private table(name: string): Map<string, Entry> {
    const existing = this.models.get(name);
    if (existing) return existing;
    const created = new Map<string, Entry>();
    this.models.set(name, created);
    return created;
  }

  private put(name: string, id: string, payload: AdapterPayload, expiresIn?: number) {
    this.table(name).set(id, {
      payload,
      ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
    });
    if (name === "Client" && !this.ephemeralClients.has(id)) this.writeClients();
  }

  private get(name: string, id: string): AdapterPayload | undefined {
    const entry = this.table(name).get(id);
    if (!entry) {
      // A client another issuer on this data directory registered since we started.
      const registered = name === "Client" ? this.readClients()[id] : undefined;
      if (registered) this.table(name).set(id, { payload: registered });
      return registered;
    }
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.table(name).delete(id);
      return undefined;
    }
    return entry.payload;
  }

  private findWhere(name: string, match: (p: AdapterPayload) => boolean) {
    for (const [id] of this.table(name)) {
      const payload = this.get(name, id);
      if (payload && match(payload)) return payload;
    }
    return undefined;
  }

  private remove(name: string, id: string) {
    const existed = this.table(name).delete(id);
    if (existed && name === "Client" && !this.ephemeralClients.has(id)) {
      this.removedClients.add(id);
      this.writeClients();
    }
  }

  private readClients(): Record<string, AdapterPayload> {
    try {
      return JSON.parse(readFileSync(this.clientsFile, "utf8")) as Record<string, AdapterPayload>;
    } catch {
      return {};
    }
  }

  private writeClients() {
    // Another issuer on the same data directory (a second sandbox) may have registered clients since we
    // started: keep theirs, minus any this process removed.
    const registered = {
      ...Object.fromEntries(
        Object.entries(this.readClients()).filter(([id]) => !this.removedClients.has(id)),
      ),
      ...Object.fromEntries(
        [...this.table("Client")]
          .filter(([id]) => !this.ephemeralClients.has(id))
          .map(([id, e]) => [id, e.payload]),
      ),
    };
    mkdirSync(dirname(this.clientsFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.clientsFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(registered, null, 2), { mode: 0o600 });
    renameSync(tmp, this.clientsFile);
  }
}
