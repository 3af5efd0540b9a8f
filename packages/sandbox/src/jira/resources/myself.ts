import { allow, ok } from "../http.ts";
import type { JiraContext, Resource } from "./resource.ts";

/** GET /myself: the account the API token belongs to. */
export const myself =
  ({ site }: JiraContext): Resource =>
  ({ method, path, parts }) => {
    if (parts[0] !== "myself" || parts.length !== 1) return undefined;
    allow(method, ["GET"], path);
    return ok(200, {
      self: `${site.url}/rest/api/3/user?accountId=${site.account.accountId}`,
      ...site.account,
      emailAddress: site.email,
      timeZone: "UTC",
      locale: "en_US",
    });
  };
