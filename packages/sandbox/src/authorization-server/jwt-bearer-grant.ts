import type Provider from "oidc-provider";
import type { IssuerKeys } from "../issuer-keys.ts";
import { type AuthorizationAudit, refusalEvent } from "./authorization-audit.ts";
import { AssertionRefused, type IdentityAssertionRedeemer, JWT_BEARER_GRANT } from "./identity-assertion.ts";

/**
 * Adds the RFC 7523 JWT bearer grant (ID-JAG, enterprise-managed authorization) to the token endpoint.
 * oidc-provider authenticates the client (client_secret_basic) and checks the grant is in its grant_types;
 * the assertion rules are `IdentityAssertionRedeemer`. Every refusal is audited with its reason.
 */
export function registerJwtBearerGrant(
  provider: Provider,
  keys: () => IssuerKeys,
  redeemer: IdentityAssertionRedeemer,
  audit: () => AuthorizationAudit | undefined,
): void {
  provider.registerGrantType(
    JWT_BEARER_GRANT,
    async (ctx) => {
      const clientId = ctx.oidc.client.clientId;
      const params = ctx.oidc.params as Record<string, unknown>;
      const get = (name: string) => (typeof params[name] === "string" ? (params[name] as string) : undefined);
      try {
        const { claims: _claims, ...body } = await redeemer.redeem(keys(), clientId, { get });
        ctx.set("cache-control", "no-store");
        ctx.body = body;
      } catch (err) {
        if (!(err instanceof AssertionRefused)) throw err;
        ctx.status = 400;
        ctx.body = { error: err.error, error_description: err.message };
        const sink = audit();
        if (sink) {
          await sink(
            refusalEvent(err.error, {
              reason: err.message,
              grant: "jwt-bearer",
              client_id: clientId,
              ...err.detail,
            }),
          ).catch(() => {});
        }
      }
    },
    ["assertion", "scope", "resource"],
  );
}
