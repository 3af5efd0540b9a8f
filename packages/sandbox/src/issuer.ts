import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SignJWT } from "jose";
import type { AuthorizationAudit } from "./authorization-server/authorization-audit.ts";
import type { ClientMetadataFetchOptions } from "./authorization-server/client-metadata-fetch.ts";
import type { TrustedIdentityProvider } from "./authorization-server/identity-assertion.ts";
import type { ResourceRegistration } from "./authorization-server/provider.ts";
import type { RevocationFeed, RevokedNow } from "./authorization-server/revocation-enforcer.ts";
import { defaultScopes, type IdentityDirectory, loadIdentities, roleScopes } from "./identities.ts";
import { ISSUER_ALG, IssuerKeySource, type IssuerKeys } from "./issuer-keys.ts";
import { type ExchangeClient, TOKEN_EXCHANGE_GRANT } from "./token-exchange.ts";

export interface MintOptions {
  issuer: string;
  user: string;
  audience: string | string[];
  ttlSeconds?: number;
  /** Defaults to every scope the user's roles grant. */
  scopes?: string[];
  clientId?: string;
}

/** Mints a dev access token for a seeded user, signed with the sandbox issuer's key. */
export async function mintToken(
  keys: IssuerKeys,
  opts: MintOptions,
  dir: IdentityDirectory = loadIdentities(),
): Promise<string> {
  const user = dir.users[opts.user];
  if (!user)
    throw new Error(`unknown user "${opts.user}"; seeded users are ${Object.keys(dir.users).join(", ")}`);
  const scopes = opts.scopes ?? defaultScopes(dir, user);
  // Never outliving the signing key's retirement (or the keystore's longest token life).
  const exp = Math.min(Math.floor(Date.now() / 1000) + (opts.ttlSeconds ?? 3600), keys.notAfter);
  return new SignJWT({
    scope: scopes.join(" "),
    tenant: user.tenant,
    roles: user.roles,
    client_id: opts.clientId ?? "gatehouse-cli",
    name: user.name,
  })
    .setProtectedHeader({ alg: ISSUER_ALG, kid: keys.kid, typ: "at+jwt" })
    .setIssuer(opts.issuer)
    .setSubject(opts.user)
    .setAudience(opts.audience)
    .setIssuedAt()
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(keys.privateKey);
}

export interface RunningIssuer {
  url: string;
  /** The keys now: they change when a rotation (`gatehouse keys rotate`) reaches its next step. */
  readonly keys: IssuerKeys;
  /** Registers (or replaces) a client allowed to exchange tokens, e.g. once its resource URL is known. */
  registerExchangeClient(id: string, client: ExchangeClient): void;
  /** Lets people sign in to a client for this resource URL (an MCP server's), e.g. once its port is known. */
  registerResource(url: string, resource: ResourceRegistration): void;
  /** Changes how client ID metadata documents are fetched (tests serve theirs on loopback). */
  setClientMetadataFetch(options: ClientMetadataFetchOptions): void;
  /** Sends the issuer's refusals (client ID metadata documents) to an audit log, e.g. `AuditLog.append`. */
  setAudit(audit: AuthorizationAudit | undefined): void;
  /** Accepts ID-JAGs (enterprise-managed authorization) from this identity provider from now on. */
  trustIdentityProvider(idp: TrustedIdentityProvider): void;
  /** Registers (or replaces) a confidential client that redeems ID-JAGs with the JWT bearer grant. */
  registerAssertionClient(id: string, secret: string): void;
  close(): Promise<void>;
}

/**
 * The sandbox identity provider on loopback: an OAuth 2.1 authorization server (oidc-provider) with
 * authorization code + PKCE, dynamic client registration, resource indicators and the RFC 8693 exchange,
 * signing with the same key `gatehouse token` uses. Servers verify its tokens exactly as they would a
 * real issuer's.
 */
export async function startIssuer(opts: {
  /** Confidential clients allowed to use the token-exchange grant at POST /token. */
  exchangeClients?: Record<string, ExchangeClient>;
  /** The MCP servers' resource URLs people may sign in to. */
  resources?: Record<string, ResourceRegistration>;
  dataDir: string;
  host?: string;
  port?: number;
  publicUrl?: string;
  /** The longest token life for a keystore this call creates (tests shorten it to watch keys retire). */
  maxTokenTtlSeconds?: number;
  /**
   * Gatehouse's revocation list: revoked people cannot sign in, revoked clients cannot be authorized, and
   * nothing revoked keeps a grant, session or refresh token here or gets a token exchanged.
   */
  revocations?: RevocationFeed;
  /** How client ID metadata documents are fetched: public https only unless this allows loopback. */
  clientMetadataFetch?: ClientMetadataFetchOptions;
  /** Where refusals are audited. */
  audit?: AuthorizationAudit;
  /** Enterprise identity providers whose ID-JAGs are accepted (none by default). */
  trustedIdentityProviders?: TrustedIdentityProvider[];
  /** Confidential clients (id to secret) that redeem ID-JAGs with the JWT bearer grant. */
  assertionClients?: Record<string, string>;
}): Promise<RunningIssuer> {
  // Loaded only when an issuer starts: oidc-provider announces on import that it prefers Node 22, which
  // every other CLI command would otherwise print.
  const [
    { registerTokenExchange },
    { interactionRoutes },
    { createProvider, isLoopbackOrigin },
    { SandboxStorage },
    { AssertionReplayGuard },
    { checkedIdentityProvider, IdentityAssertionRedeemer, JWT_BEARER_GRANT },
    { registerJwtBearerGrant },
    { RevocationEnforcer },
  ] = await Promise.all([
    import("./authorization-server/exchange-grant.ts"),
    import("./authorization-server/interactions.ts"),
    import("./authorization-server/provider.ts"),
    import("./authorization-server/storage-adapter.ts"),
    import("./authorization-server/assertion-replay.ts"),
    import("./authorization-server/identity-assertion.ts"),
    import("./authorization-server/jwt-bearer-grant.ts"),
    import("./authorization-server/revocation-enforcer.ts"),
  ]);
  const keySource = new IssuerKeySource(opts.dataDir, { maxTokenTtlSeconds: opts.maxTokenTtlSeconds });
  const identities = loadIdentities();
  const host = opts.host ?? "127.0.0.1";
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 7100, host, () => resolve());
  });
  const url = opts.publicUrl ?? `http://${host}:${(server.address() as AddressInfo).port}`;

  const storage = new SandboxStorage(join(opts.dataDir, "issuer", "registered-clients.json"));
  const enforcer = opts.revocations ? new RevocationEnforcer(opts.revocations, storage) : undefined;
  // Read afresh (and applied) for each request that could lead to a token; nothing revoked without a list.
  const revokedNow = async (): Promise<RevokedNow | undefined> => enforcer?.apply();
  const resources = new Map(Object.entries(opts.resources ?? {}));
  const exchangeClients = new Map<string, ExchangeClient>();
  const cookieKeys = [randomBytes(32).toString("base64url")];
  let clientMetadataFetch: ClientMetadataFetchOptions = opts.clientMetadataFetch ?? {};
  let audit = opts.audit;
  const trustedIdps = (opts.trustedIdentityProviders ?? []).map(checkedIdentityProvider);
  // One redeemer (and replay guard) for the issuer's life: a rotation's new provider must not forget
  // which assertions were already used.
  const redeemer = new IdentityAssertionRedeemer({
    issuer: url,
    identities,
    trusted: () => trustedIdps,
    replay: new AssertionReplayGuard(),
    resourceScopes: (resource) => resources.get(resource)?.scopes,
    roleScopes: (roles) => roleScopes(identities, roles),
  });
  // oidc-provider's keystore is fixed when it is made: when a rotation publishes, starts or retires a key,
  // the next request gets a new provider on the same storage and cookie keys, so sign-ins in progress,
  // grants, refresh tokens and registered clients carry over and nothing restarts.
  const build = (keys: IssuerKeys) => {
    const provider = createProvider({
      issuer: url,
      keys,
      identities,
      storage,
      resources,
      cookieKeys,
      clientMetadataFetch: () => clientMetadataFetch,
      audit: () => audit,
    });
    registerTokenExchange(
      provider,
      () => keySource.current(),
      exchangeClients,
      (roles, resource) => {
        // A target the issuer knows as a resource caps the scopes at its own; otherwise the configured
        // targets list is the only boundary and the person's roles decide.
        const atResource = resources.get(resource)?.scopes;
        return roleScopes(identities, roles).filter((s) => !atResource || atResource.includes(s));
      },
      async (claims) => {
        const now = await revokedNow();
        return !!now && (now.subject(claims.sub) || now.client(claims.client) || now.token(claims.jti));
      },
    );
    registerJwtBearerGrant(
      provider,
      () => keySource.current(),
      redeemer,
      () => audit,
    );
    return {
      keys,
      provider,
      oauth: provider.callback(),
      interactions: interactionRoutes(
        provider,
        identities,
        async (user) => !!(await revokedNow())?.subject(user),
      ),
    };
  };
  let live = build(keySource.current());
  const current = () => {
    const keys = keySource.current();
    if (keys !== live.keys) live = build(keys);
    return live;
  };
  const registerExchangeClient = (id: string, client: ExchangeClient) => {
    exchangeClients.set(id, client);
    storage.putEphemeralClient(id, {
      client_secret: client.secret,
      client_name: id,
      grant_types: [TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    });
  };
  for (const [id, client] of Object.entries(opts.exchangeClients ?? {})) registerExchangeClient(id, client);
  const registerAssertionClient = (id: string, secret: string) => {
    storage.putEphemeralClient(id, {
      client_secret: secret,
      client_name: id,
      grant_types: [JWT_BEARER_GRANT],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    });
  };
  for (const [id, secret] of Object.entries(opts.assertionClients ?? {})) registerAssertionClient(id, secret);

  // Before authorize and token requests: the revocation list is applied to the issuer's state (so a revoked
  // refresh token or grant is already gone when oidc-provider looks it up), and a revoked client may not
  // start a sign-in. Answers true when it refused the request itself.
  const guardRevoked = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const now = await revokedNow();
    const clientId = new URL(req.url ?? "/", "http://x").searchParams.get("client_id");
    if (path === "/authorize" && now && clientId && now.client(clientId)) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
      res.end(`client ${clientId} has been revoked by an operator; it cannot sign anyone in`);
      return true;
    }
    return false;
  };

  const registrationPath = "/register";
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ ok: true }));
    }
    const { interactions, oauth } = current();
    if (enforcer && (path === "/authorize" || path === "/token")) {
      return void guardRevoked(req, res, path).then(
        (refused) => {
          if (!refused) void oauth(req, res);
        },
        () => {
          if (!res.headersSent) res.writeHead(503, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              error: "temporarily_unavailable",
              error_description: "the revocation list could not be read; try again shortly",
            }),
          );
        },
      );
    }
    if (path.startsWith("/interaction/")) {
      return void interactions(req, res, path).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`sign-in failed: ${(err as Error).message}`);
      });
    }
    // Browser-based clients (MCP Inspector) register from their own origin; oidc-provider has no CORS on
    // registration, so loopback origins get it here. Registration is open on the sandbox only.
    const origin = req.headers.origin;
    if (path === registrationPath && origin && isLoopbackOrigin(origin)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "Origin");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": "content-type, authorization, mcp-protocol-version",
          "access-control-max-age": "600",
        });
        return res.end();
      }
    }
    oauth(req, res);
  });
  return {
    url,
    get keys() {
      return keySource.current();
    },
    registerExchangeClient,
    registerResource: (resourceUrl, resource) => {
      resources.set(resourceUrl, resource);
    },
    setClientMetadataFetch: (options) => {
      clientMetadataFetch = options;
    },
    setAudit: (next) => {
      audit = next;
    },
    trustIdentityProvider: (idp) => {
      checkedIdentityProvider(idp);
      const i = trustedIdps.findIndex((t) => t.issuer === idp.issuer);
      if (i >= 0) trustedIdps.splice(i, 1);
      trustedIdps.push(idp);
    },
    registerAssertionClient,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
