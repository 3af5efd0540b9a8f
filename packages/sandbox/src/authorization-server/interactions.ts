import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import type { InteractionResults } from "oidc-provider";
import type { IdentityDirectory } from "../identities.ts";
import { consentPage, errorPage, loginPage, PAGE_HEADERS } from "./pages.ts";
import { scopesFor } from "./provider.ts";

const IDENTITY_SCOPES = new Set(["openid", "offline_access"]);

const send = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, PAGE_HEADERS);
  res.end(body);
};

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = "";
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 8192) break;
  }
  return new URLSearchParams(text);
}

/**
 * The sign-in and consent screens oidc-provider hands its interactions to, at /interaction/<uid>.
 * Sign-in picks one of the seeded people; consent shows which scopes the person's roles allow, grants
 * those and refuses the rest, so a client never gets more than the person could.
 */
export function interactionRoutes(
  provider: Provider,
  identities: IdentityDirectory,
  /** A person an operator revoked cannot sign in again. */
  isRevoked: (user: string) => Promise<boolean> = async () => false,
) {
  const finish = (req: IncomingMessage, res: ServerResponse, result: InteractionResults) =>
    provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });

  return async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const [, , uid, action] = path.split("/");
    let details: Awaited<ReturnType<Provider["interactionDetails"]>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      return send(
        res,
        400,
        errorPage(
          "This sign-in has expired",
          "Start again from your MCP client. Sign-in pages are valid for ten minutes and only in the browser that opened them.",
        ),
      );
    }
    if (details.uid !== uid)
      return send(res, 400, errorPage("Sign-in mismatch", "Start again from your MCP client."));
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);

    if (req.method === "POST" && action === "abort") {
      const description =
        details.prompt.name === "consent"
          ? "the person's role allows none of the requested scopes, or they went back"
          : "the person cancelled sign-in";
      return finish(req, res, { error: "access_denied", error_description: description });
    }

    if (details.prompt.name === "login") {
      if (req.method === "POST" && action === "login") {
        const user = (await readForm(req)).get("user") ?? "";
        if (!identities.users[user]) {
          return send(
            res,
            400,
            loginPage({ uid, clientName, users: identities.users, error: `unknown person "${user}"` }),
          );
        }
        if (await isRevoked(user)) {
          return send(
            res,
            403,
            loginPage({
              uid,
              clientName,
              users: identities.users,
              error: `${user}'s access has been revoked by an operator`,
            }),
          );
        }
        return finish(req, res, { login: { accountId: user } });
      }
      return send(res, 200, loginPage({ uid, clientName, users: identities.users }));
    }

    if (details.prompt.name === "consent") {
      const accountId = details.session?.accountId ?? "";
      const allowed = scopesFor(identities, accountId);
      const missing = (details.prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>;
      const missingOidc = (details.prompt.details.missingOIDCScope ?? []) as string[];
      const resources = Object.entries(missing).map(([resource, scopes]) => ({
        resource,
        granted: scopes.filter((s) => allowed.has(s)),
        refused: scopes.filter((s) => !allowed.has(s)),
      }));
      if (req.method === "POST" && action === "consent") {
        if ((await readForm(req)).get("decision") !== "allow") {
          return finish(req, res, { error: "access_denied", error_description: "the person denied access" });
        }
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
        if (!grant) return send(res, 400, errorPage("Consent expired", "Start again from your MCP client."));
        // Identity scopes go to the OIDC part of the grant; server scopes are resource scopes, never both.
        const identityScopes = missingOidc.filter((s) => IDENTITY_SCOPES.has(s));
        if (identityScopes.length) grant.addOIDCScope(identityScopes.join(" "));
        const apiScopes = missingOidc.filter((s) => !IDENTITY_SCOPES.has(s));
        if (apiScopes.length) grant.rejectOIDCScope(apiScopes.join(" "));
        for (const r of resources) {
          if (r.granted.length) grant.addResourceScope(r.resource, r.granted.join(" "));
          if (r.refused.length) grant.rejectResourceScope(r.resource, r.refused.join(" "));
        }
        const grantId = await grant.save();
        return finish(req, res, { consent: { grantId } });
      }
      const redirect = URL.parse(String(details.params.redirect_uri));
      return send(
        res,
        200,
        consentPage({
          uid,
          user: accountId,
          clientName,
          clientId: String(details.params.client_id),
          redirectOrigin: redirect?.origin ?? String(details.params.redirect_uri),
          resources,
        }),
      );
    }
    return send(res, 400, errorPage("Unexpected step", `unknown interaction ${details.prompt.name}`));
  };
}
