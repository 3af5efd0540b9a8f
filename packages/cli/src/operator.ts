import { userInfo } from "node:os";
import type { Identity } from "@gatehouse/governance";

/**
 * The person at the terminal, as the audit trail records operator commands: their login name, acting
 * through the CLI on every tenant. The CLI's own access is the data directory and store it can open.
 */
export function operatorIdentity(): Identity {
  const user = userInfo().username;
  return {
    user,
    roles: ["operator"],
    tenant: "*",
    client: "gatehouse-cli",
    env: "operator",
    tokenId: "none",
    scopes: [],
  };
}
