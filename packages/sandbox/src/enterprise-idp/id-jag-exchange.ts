import { randomUUID } from "node:crypto";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type Provider from "oidc-provider";
import { ID_JAG_TYP } from "../authorization-server/identity-assertion.ts";
import { TOKEN_EXCHANGE_GRANT } from "../token-exchange.ts";

export const ID_JAG_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id-jag";
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
const ID_JAG_LIFE_SECONDS = 300;

/** What the enterprise's administrator configured for one MCP client (an app people sign in to). */
export interface EnterpriseClient {
  secret: string;
  redirectUris: string[];
  /**
   * The MCP authorization servers (issuer URLs) this client may get ID-JAGs for, each with the client's
   * client_id there: the mapping the extension leaves to configuration (§6.1).
   */
  authorizationServers: Record<string, string>;
  /** The people who may use this client with MCP servers (default: everyone the IdP knows). */
  people?: string[];
}

class ExchangeRefused extends Error {
  readonly error: string;
  constructor(error: string, description: string) {
    super(description);
    this.error = error;
  }
}

/**
 * The IdP half of enterprise-managed authorization: RFC 8693 token exchange of an ID token this IdP issued
 * to the client for an ID-JAG (typ oauth-id-jag+jwt) naming the person, the MCP authorization server
 * (aud), the MCP server (resource) and the client's id at that authorization server. The IdP's policy
 * decides here: which client may reach which authorization server, and for whom.
 */
export function registerIdJagExchange(
  provider: Provider,
  opts: {
    issuer: string;
    publicJwks: JSONWebKeySet;
    sign: (claims: JWTPayload) => Promise<string>;
    clients: Map<string, EnterpriseClient>;
  },
): void {
  const keys = createLocalJWKSet(opts.publicJwks);
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx) => {
      const clientId = ctx.oidc.client.clientId;
      const params = ctx.oidc.params as Record<string, unknown>;
      const get = (name: string) => (typeof params[name] === "string" ? (params[name] as string) : undefined);
      try {
        const client = opts.clients.get(clientId);
        if (!client) throw new ExchangeRefused("unauthorized_client", `${clientId} may not request ID-JAGs`);
        if (get("requested_token_type") !== ID_JAG_TOKEN_TYPE) {
          throw new ExchangeRefused("invalid_request", `requested_token_type must be ${ID_JAG_TOKEN_TYPE}`);
        }
        const subjectToken = get("subject_token");
        if (!subjectToken || get("subject_token_type") !== ID_TOKEN_TYPE) {
          throw new ExchangeRefused(
            "invalid_request",
            `subject_token and subject_token_type=${ID_TOKEN_TYPE} are required`,
          );
        }
        const audience = get("audience");
        const resource = get("resource");
        if (!audience || !resource)
          throw new ExchangeRefused("invalid_request", "audience and resource are required");
        const clientIdThere = client.authorizationServers[audience];
        if (!clientIdThere) {
          throw new ExchangeRefused(
            "invalid_target",
            `${clientId} is not configured for the authorization server ${audience}`,
          );
        }
        let subject: JWTPayload;
        try {
          // An ID token this IdP issued to this very client (§4.1).
          ({ payload: subject } = await jwtVerify(subjectToken, keys, {
            issuer: opts.issuer,
            audience: clientId,
          }));
        } catch (err) {
          throw new ExchangeRefused(
            "invalid_grant",
            err instanceof errors.JWTExpired
              ? "the ID token has expired"
              : "the ID token is invalid or not issued to this client",
          );
        }
        const person = String(subject.sub);
        if (client.people && !client.people.includes(person)) {
          throw new ExchangeRefused("access_denied", `${person} may not use ${clientId} with MCP servers`);
        }
        const scope = get("scope");
        const now = Math.floor(Date.now() / 1000);
        const idJag = await opts.sign({
          iss: opts.issuer,
          sub: person,
          aud: audience,
          resource,
          client_id: clientIdThere,
          jti: randomUUID(),
          iat: now,
          exp: now + ID_JAG_LIFE_SECONDS,
          ...(scope ? { scope } : {}),
        });
        ctx.set("cache-control", "no-store");
        ctx.body = {
          issued_token_type: ID_JAG_TOKEN_TYPE,
          access_token: idJag,
          token_type: "N_A",
          expires_in: ID_JAG_LIFE_SECONDS,
          ...(scope ? { scope } : {}),
        };
      } catch (err) {
        if (!(err instanceof ExchangeRefused)) throw err;
        ctx.status = 400;
        ctx.body = { error: err.error, error_description: err.message };
      }
    },
    ["subject_token", "subject_token_type", "requested_token_type", "audience", "resource", "scope"],
  );
}

/** Signs ID-JAG claims with the IdP's key (header typ oauth-id-jag+jwt). */
export const idJagSigner =
  (alg: string, kid: string, key: Parameters<SignJWT["sign"]>[0]) =>
  (claims: JWTPayload): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, typ: ID_JAG_TYP }).sign(key);
