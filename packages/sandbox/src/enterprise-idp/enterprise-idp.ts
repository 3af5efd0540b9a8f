import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import type { Configuration, KoaContextWithOIDC } from "oidc-provider";
import { interactionRoutes } from "../authorization-server/interactions.ts";
import { errorPage, PAGE_HEADERS } from "../authorization-server/pages.ts";
import { loadIdentities } from "../identities.ts";
import { type EnterpriseClient, idJagSigner, registerIdJagExchange } from "./id-jag-exchange.ts";

const ALG = "ES256";

export interface RunningEnterpriseIdp {
  /** The IdP's issuer URL (what its ID tokens and ID-JAGs carry as `iss`). */
  url: string;
  /** Where its signing keys are published: what an authorization server that trusts it is given. */
  jwksUri: string;
  close(): Promise<void>;
}

/**
 * A sandbox enterprise identity provider on loopback (oidc-provider, seeded with the same people as the
 * sandbox issuer): people sign in once to an MCP client with OpenID Connect (authorization code + PKCE;
 * the enterprise has consented for its own clients, so there is no consent screen), and the client trades
 * the ID token for an ID-JAG per MCP server (`id-jag-exchange.ts`). Its own key, made at start-up, signs
 * both; nothing is kept on disk.
 */
export async function startEnterpriseIdp(opts: {
  clients: Record<string, EnterpriseClient>;
  host?: string;
  port?: number;
}): Promise<RunningEnterpriseIdp> {
  const identities = loadIdentities();
  const host = opts.host ?? "127.0.0.1";
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: "sig" };
  const publicJwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" }] };
  const clients = new Map(Object.entries(opts.clients));

  const config: Configuration = {
    clients: [...clients].map(([id, c]) => ({
      client_id: id,
      client_secret: c.secret,
      redirect_uris: c.redirectUris,
      grant_types: ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      id_token_signed_response_alg: ALG,
    })),
    jwks: { keys: [privateJwk as never] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    routes: { jwks: "/jwks.json", authorization: "/authorize" },
    scopes: ["openid", "profile"],
    claims: { openid: ["sub"], profile: ["name"] },
    responseTypes: ["code"],
    pkce: { required: () => true },
    enabledJWA: { idTokenSigningAlgValues: [ALG] },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
    },
    findAccount: (_ctx, sub) => {
      const user = identities.users[sub];
      return user ? { accountId: sub, claims: () => ({ sub, name: user.name }) } : undefined;
    },
    // The enterprise consented for its own MCP clients: signing in is enough, no consent screen.
    loadExistingGrant: async (ctx) => {
      const { client, session, provider } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing) return provider.Grant.find(existing);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid profile");
      await grant.save();
      return grant;
    },
    ttl: {
      AccessToken: 600,
      IdToken: 3600,
      AuthorizationCode: 60,
      Grant: 8 * 3600,
      Interaction: 600,
      Session: 8 * 3600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.set(PAGE_HEADERS);
      ctx.body = errorPage("Sign-in failed", `${out.error}: ${out.error_description ?? ""}`);
    },
  };
  // Loaded here, not on import: oidc-provider announces on import that it prefers Node 22.
  const { default: Provider } = await import("oidc-provider");
  const provider = new Provider(url, config);
  provider.proxy = false;
  registerIdJagExchange(provider, {
    issuer: url,
    publicJwks,
    sign: idJagSigner(ALG, kid, privateKey),
    clients,
  });
  const oauth = provider.callback();
  const interactions = interactionRoutes(provider, identities);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path.startsWith("/interaction/")) {
      return void interactions(req, res, path).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`sign-in failed: ${(err as Error).message}`);
      });
    }
    oauth(req, res);
  });
  return {
    url,
    jwksUri: `${url}/jwks.json`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
