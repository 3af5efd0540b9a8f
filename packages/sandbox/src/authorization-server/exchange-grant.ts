import type Provider from "oidc-provider";
import type { IssuerKeys } from "../issuer-keys.ts";
import {
  type ExchangeClient,
  exchangeToken,
  TOKEN_EXCHANGE_GRANT,
  TokenExchangeError,
} from "../token-exchange.ts";

const PARAMS = [
  "subject_token",
  "subject_token_type",
  "actor_token",
  "actor_token_type",
  "requested_token_type",
  "resource",
  "audience",
  "scope",
];

/**
 * Adds the RFC 8693 grant to the token endpoint. oidc-provider authenticates the client (client_secret_basic)
 * and checks the grant is in the client's grant_types; the exchange rules themselves are `exchangeToken`.
 */
export function registerTokenExchange(
  provider: Provider,
  /** The keys at the time of each exchange (they change during a rotation). */
  keys: () => IssuerKeys,
  exchangeClients: Map<string, ExchangeClient>,
  scopesFor: (roles: string[], resource: string) => string[],
  /** Revoked people, clients and tokens get nothing here either. */
  revoked?: (claims: { sub: string; client: string; jti: string }) => Promise<boolean>,
): void {
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx) => {
      const id = ctx.oidc.client.clientId;
      const client = exchangeClients.get(id);
      try {
        if (!client) throw new TokenExchangeError("unauthorized_client", `${id} may not exchange tokens`);
        const params = ctx.oidc.params as Record<string, unknown>;
        const get = (name: string) =>
          typeof params[name] === "string" ? (params[name] as string) : undefined;
        ctx.body = await exchangeToken(
          keys(),
          provider.issuer,
          { ...client, id },
          { get },
          { scopesFor, revoked },
        );
      } catch (err) {
        if (!(err instanceof TokenExchangeError)) throw err;
        ctx.status = err.status;
        ctx.body = { error: err.error, error_description: err.description };
      }
    },
    PARAMS,
  );
}
