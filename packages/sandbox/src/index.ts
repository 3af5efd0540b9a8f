export type {
  AuthorizationAudit,
  AuthorizationAuditEvent,
} from "./authorization-server/authorization-audit.ts";
export type { ClientMetadataFetchOptions } from "./authorization-server/client-metadata-fetch.ts";
export {
  ENTERPRISE_MANAGED_AUTHORIZATION,
  ID_JAG_TYP,
  JWT_BEARER_GRANT,
  type TrustedIdentityProvider,
} from "./authorization-server/identity-assertion.ts";
export type { ResourceRegistration } from "./authorization-server/provider.ts";
export { type RunningEnterpriseIdp, startEnterpriseIdp } from "./enterprise-idp/enterprise-idp.ts";
export { type EnterpriseClient, ID_JAG_TOKEN_TYPE } from "./enterprise-idp/id-jag-exchange.ts";
export {
  buildCrmSeed,
  type CrmSeed,
  HUBSPOT_SANDBOX_TOKEN,
  type HubSpotFault,
  type RunningHubSpot,
  startHubSpotSandbox,
} from "./hubspot/index.ts";
export {
  defaultScopes,
  type IdentityDirectory,
  identitiesFile,
  loadIdentities,
  type SeededUser,
} from "./identities.ts";
export { type MintOptions, mintToken, type RunningIssuer, startIssuer } from "./issuer.ts";
export { type IssuerKeys, loadOrCreateIssuerKeys } from "./issuer-keys.ts";
export {
  JIRA_SANDBOX_API_TOKEN,
  JIRA_SANDBOX_EMAIL,
  type JiraFault,
  type JiraIssueSnapshot,
  type RunningJira,
  startJiraSandbox,
} from "./jira/index.ts";
export { ensureOrdersDatabase } from "./orders/orders-database.ts";
export { buildOrdersSeed, type OrdersSeed, SEED_COMPANIES } from "./orders/seed-data.ts";
export { ACCESS_TOKEN_TYPE, type ExchangeClient, TOKEN_EXCHANGE_GRANT } from "./token-exchange.ts";
