import Provider, { type Configuration, errors, type KoaContextWithOIDC } from "oidc-provider";
import { defaultScopes, type IdentityDirectory } from "../identities.ts";
import { ISSUER_ALG, type IssuerKeys } from "../issuer-keys.ts";
import { type AuthorizationAudit, refusalEvent } from "./authorization-audit.ts";
import {
  CLIENT_METADATA_MAX_BYTES,
  type ClientMetadataFetchOptions,
  createClientMetadataFetch,
} from "./client-metadata-fetch.ts";
import { ENTERPRISE_MANAGED_AUTHORIZATION, ID_JAG_GRANT_PROFILE } from "./identity-assertion.ts";
import { errorPage, PAGE_HEADERS } from "./pages.ts";
import type { SandboxStorage } from "./storage-adapter.ts";

/** A protected resource (an MCP server's resource URL) this issuer mints access tokens for. */
export interface ResourceRegistration {
  /** The scopes a token for it may carry: the server's own (`serverScopes(definition)`). */
  scopes: string[];
}

const ACCESS_TOKEN_TTL = 3600;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export const isLoopbackOrigin = (origin: string) => {
  const u = URL.parse(origin);
  return !!u && u.protocol === "http:" && LOOPBACK.has(u.hostname);
};

/** Every scope a seeded role can hold: what this issuer knows how to grant. */
export function sandboxScopes(dir: IdentityDirectory): string[] {
  return [...new Set(Object.values(dir.roleScopes).flat())].sort();
}

/** How client ID metadata documents are described in oidc-provider's errors (and only those). */
const CIMD_ERROR = /^client_id metadata document/;

/**
 * oidc-provider configured as an OAuth 2.1 authorization server for MCP clients on this machine:
 * authorization code with PKCE (S256, required for every client), clients identified by client ID
 * metadata documents (an https client_id URL, fetched and checked by `client-metadata-fetch.ts`) beside
 * open dynamic client registration (RFC 7591) for older clients, resource indicators (RFC 8707) that
 * turn into JWT access tokens (RFC 9068) whose audience is exactly one MCP server, and refresh tokens. Tokens carry the person's tenant and roles, which is all the
 * servers' policies need; the scopes are cut down to what the person's roles allow.
 */
export function createProvider(opts: {
  issuer: string;
  keys: IssuerKeys;
  identities: IdentityDirectory;
  storage: SandboxStorage;
  resources: Map<string, ResourceRegistration>;
  /** Kept across providers made for new keys, so a sign-in in progress survives a rotation step. */
  cookieKeys: string[];
  /** Read at each fetch: how client ID metadata documents may be reached. */
  clientMetadataFetch: () => ClientMetadataFetchOptions;
  /** Read at each refusal: where refusals worth auditing go, if anywhere. */
  audit: () => AuthorizationAudit | undefined;
}): Provider {
  const { identities, resources } = opts;
  const allScopes = sandboxScopes(identities);
  // A token never outlives the key that signs it: once a successor is announced, the signer's
  // retirement caps every lifetime (and the keystore's longest token life always does).
  const ttl = (seconds: number) => () =>
    Math.max(1, Math.min(seconds, opts.keys.notAfter - Math.floor(Date.now() / 1000)));

  const config: Configuration = {
    adapter: opts.storage.adapterClass(),
    // Every published key (a successor announced ahead of signing, a predecessor still retiring), the
    // signer first: oidc-provider signs with the first key that fits and publishes them all at /jwks.json.
    jwks: { keys: opts.keys.privateJwks.map((k) => ({ ...k, alg: ISSUER_ALG, use: "sig" })) as never },
    cookies: { keys: opts.cookieKeys },
    routes: { jwks: "/jwks.json", authorization: "/authorize", registration: "/register" },
    // openid and offline_access for OIDC clients; the rest are the servers' scopes, so a client may
    // register with (and ask for) exactly what a server's RFC 9728 metadata lists.
    scopes: ["openid", "offline_access", ...allScopes],
    claims: { openid: ["sub"], profile: ["name"] },
    responseTypes: ["code"],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ["authorization_code"],
      id_token_signed_response_alg: ISSUER_ALG,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    enabledJWA: { idTokenSigningAlgValues: [ISSUER_ALG] },
    // Enterprise-managed authorization (ID-JAG with the JWT bearer grant, which oidc-provider lists in
    // grant_types_supported once registered): the IETF draft's grant profile identifier, and the MCP
    // extension's name under `mcp_extensions` (no metadata name is registered for MCP extensions yet).
    discovery: {
      authorization_grant_profiles_supported: [ID_JAG_GRANT_PROFILE],
      mcp_extensions: { [ENTERPRISE_MANAGED_AUTHORIZATION]: {} },
    },
    features: {
      devInteractions: { enabled: false },
      // Pushed requests would bypass the default scope below; no MCP client here needs them.
      pushedAuthorizationRequests: { enabled: false },
      registration: { enabled: true },
      // draft-ietf-oauth-client-id-metadata-document, as MCP 2025-11-25 requires of clients and servers.
      clientIdMetadataDocument: { enabled: true, ack: "draft-02" } as never,
      revocation: { enabled: true },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // With a single resource granted, a refresh or code exchange may leave `resource` out.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const known = resources.get(indicator);
          if (!known) {
            throw new errors.InvalidTarget(
              `${indicator} is not a resource this issuer serves; use an MCP server's URL exactly as its /.well-known/oauth-protected-resource names it`,
            );
          }
          return {
            scope: known.scopes.join(" "),
            audience: indicator,
            accessTokenTTL: ttl(ACCESS_TOKEN_TTL)(),
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: ISSUER_ALG, kid: opts.keys.kid } },
          };
        },
      },
    },
    // Only client ID metadata documents are fetched (no jwks_uri or sector identifier clients here).
    fetch: createClientMetadataFetch(opts.clientMetadataFetch) as never,
    fetchResponseBodyLimits: { "client_id metadata document": CLIENT_METADATA_MAX_BYTES } as never,
    // Codes go only to this machine or to https: no plain-http catcher elsewhere, no custom schemes whose
    // destination the consent page could not show.
    extraClientMetadata: {
      properties: ["redirect_uris"],
      validator: (_ctx, _key, value) => {
        for (const uri of (value as string[] | undefined) ?? []) {
          const u = URL.parse(uri);
          const ok = u?.protocol === "https:" || (u?.protocol === "http:" && LOOPBACK.has(u.hostname));
          if (!ok) {
            // InvalidClientMetadata keeps this description (InvalidRedirectUri would replace it with a
            // generic one); a description starting "redirect_uris" is still answered as invalid_redirect_uri.
            throw new errors.InvalidClientMetadata(
              `redirect_uris must be https or loopback http (localhost, 127.0.0.1, [::1]); ${uri} is neither`,
            );
          }
        }
      },
    },
    // A browser client (MCP Inspector) may call the token endpoint from the origin it registered.
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false,
    findAccount: (_ctx, sub) => {
      const user = identities.users[sub];
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: user.name }) };
    },
    extraTokenClaims: (_ctx, token) => {
      if (token.kind !== "AccessToken" || !("accountId" in token) || !token.accountId) return undefined;
      const user = identities.users[token.accountId];
      return user ? { tenant: user.tenant, roles: user.roles, name: user.name } : undefined;
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    ttl: {
      AccessToken: ttl(ACCESS_TOKEN_TTL),
      IdToken: ttl(3600),
      AuthorizationCode: 60,
      Grant: 8 * 3600,
      Interaction: 600,
      RefreshToken: 8 * 3600,
      Session: 8 * 3600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx: KoaContextWithOIDC, out, error) => {
      ctx.set(PAGE_HEADERS);
      ctx.body = errorPage(
        "Sign-in failed",
        `${out.error}: ${out.error_description ?? ""}${cimdDetail(error)}`,
      );
    },
  };
  const provider = new Provider(opts.issuer, config);
  // A refused client ID metadata document (or a request that does not match it) is a security event:
  // audited with the client_id URL and the reason, never the document itself.
  provider.on("authorization.error", (ctx: KoaContextWithOIDC, err: ErrorWithDetail) => {
    const clientId = String(ctx.oidc?.params?.client_id ?? ctx.query?.client_id ?? "");
    const audit = opts.audit();
    if (!audit || !clientId.startsWith("https://")) return;
    void audit(
      refusalEvent(err.error ?? "invalid_request", {
        reason: `${err.error_description ?? err.message}${cimdDetail(err)}`,
        endpoint: "authorization",
        client_id: clientId.slice(0, 500),
      }),
    ).catch(() => {});
  });
  // Loopback http is how a local issuer is reached. An https issuer URL means TLS is terminated in front
  // (a tunnel's edge, then the front door, which sets X-Forwarded-Proto): trust that, or every URL the
  // issuer writes (discovery, redirects, forms) would say http:// and OAuth clients refuse them.
  provider.proxy = new URL(opts.issuer).protocol === "https:";
  // MCP clients often ask for no scope at all (MCP Inspector's quick sign-in does). Such a request means
  // "what this server needs": it gets the resource's scopes, and consent cuts them to the person's roles.
  provider.use(async (ctx, next) => {
    const resource = ctx.query.resource;
    if (
      ctx.method === "GET" &&
      ctx.path === "/authorize" &&
      !ctx.query.scope &&
      typeof resource === "string"
    ) {
      const known = resources.get(resource);
      if (known) ctx.query = { ...ctx.query, scope: known.scopes.join(" ") };
    }
    await next();
  });
  return provider;
}

interface ErrorWithDetail extends Error {
  error?: string;
  error_description?: string;
  error_detail?: string;
}

/** Why a client ID metadata document was refused, when oidc-provider keeps it apart from the description. */
function cimdDetail(error: unknown): string {
  const e = error as ErrorWithDetail | undefined;
  if (!e?.error_detail || !CIMD_ERROR.test(e.error_description ?? "")) return "";
  return `: ${e.error_detail}`;
}

/** The scopes a person may consent to: those their roles grant. */
export function scopesFor(identities: IdentityDirectory, user: string): Set<string> {
  const u = identities.users[user];
  return new Set(u ? defaultScopes(identities, u) : []);
}
