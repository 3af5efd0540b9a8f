export {
  buildCrmSeed,
  type CrmAssociation,
  type CrmObjectType,
  type CrmOwner,
  type CrmRecord,
  type CrmSeed,
  DEAL_STAGES,
  LIFECYCLE_STAGES,
} from "./crm-seed.ts";
export type { HubSpotFault, HubSpotFaults } from "./faults.ts";
export {
  HUBSPOT_SANDBOX_TOKEN,
  type HubSpotLimits,
  type HubSpotSandboxOptions,
  type RunningHubSpot,
  startHubSpotSandbox,
} from "./hubspot-server.ts";
