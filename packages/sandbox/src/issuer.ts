import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";
import { defaultScopes, type IdentityDirectory, loadIdentities } from "./identities.ts";
import { ISSUER_ALG, type IssuerKeys, loadOrCreateIssuerKeys } from "./issuer-keys.ts";
import {
  type ExchangeClient,
  exchangeToken,
  TOKEN_EXCHANGE_GRANT,
  TokenExchangeError,
} from "./token-exchange.ts";

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
    .setExpirationTime(`${opts.ttlSeconds ?? 3600}s`)
    .setJti(randomUUID())
    .sign(keys.privateKey);
}

export interface RunningIssuer {
  url: string;
  keys: IssuerKeys;
  /** Registers (or replaces) a client allowed to exchange tokens, e.g. once its resource URL is known. */
  registerExchangeClient(id: string, client: ExchangeClient): void;
  close(): Promise<void>;
}

/**
 * The sandbox identity provider on loopback: serves its JWKS and RFC 8414 metadata so servers verify
 * tokens exactly as they would against a real issuer.
 */
export async function startIssuer(opts: {
  /** Confidential clients allowed to use the token-exchange grant at POST /token. */
  exchangeClients?: Record<string, ExchangeClient>;
  dataDir: string;
  host?: string;
  port?: number;
  publicUrl?: string;
}): Promise<RunningIssuer> {
  const keys = await loadOrCreateIssuerKeys(opts.dataDir);
  const clients: Record<string, ExchangeClient> = { ...opts.exchangeClients };
  let url = opts.publicUrl ?? "";
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && path === "/token") {
      void handleToken(req, url, keys, clients).then(
        (body) => json(200, body),
        (err: unknown) =>
          err instanceof TokenExchangeError
            ? json(err.status, { error: err.error, error_description: err.description })
            : json(500, { error: "server_error" }),
      );
      return;
    }
    if (req.method !== "GET") return json(405, { error: "method_not_allowed" });
    if (path === "/jwks.json") return json(200, keys.publicJwks);
    if (path === "/.well-known/oauth-authorization-server" || path === "/.well-known/openid-configuration") {
      return json(200, {
        issuer: url,
        jwks_uri: `${url}/jwks.json`,
        token_endpoint: `${url}/token`,
        grant_types_supported: [TOKEN_EXCHANGE_GRANT],
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
        // No authorization endpoint yet: dev tokens come from `gatehouse token`; /token serves only the
        // RFC 8693 exchange the business server uses.
        scopes_supported: [
          "orders:read",
          "orders:pii",
          "crm:read",
          "crm:pii",
          "tickets:draft",
          "tickets:send",
          "tickets:approve",
        ],
      });
    }
    if (path === "/healthz") return json(200, { ok: true });
    return json(404, { error: "not_found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 7100, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  if (!url) url = `http://${opts.host ?? "127.0.0.1"}:${addr.port}`;
  return {
    url,
    keys,
    registerExchangeClient: (id, client) => {
      clients[id] = client;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** POST /token: client_secret_basic authentication and a form body, as RFC 6749 and RFC 8693 define. */
async function handleToken(
  req: IncomingMessage,
  issuer: string,
  keys: IssuerKeys,
  clients: Record<string, ExchangeClient>,
) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new TokenExchangeError("invalid_request", "request too large");
    chunks.push(chunk as Buffer);
  }
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
  const [clientId, clientSecret] = basic?.[1]
    ? Buffer.from(basic[1], "base64").toString("utf8").split(":").map(decodeURIComponent)
    : [];
  return exchangeToken(
    keys,
    issuer,
    clients,
    { clientId, clientSecret },
    new URLSearchParams(Buffer.concat(chunks).toString("utf8")),
  );
}
