export {
  type AccessInventoryOptions,
  accessInventory,
  type ClientAccess,
  type PersonAccess,
  type TokenInUse,
} from "./access-inventory.ts";
export { ACCESS_SEEN_REFRESH_MS, AccessSeen } from "./access-seen.ts";
export {
  ApprovalError,
  type ApprovalRecord,
  type ApprovalSubject,
  Approvals,
  type UsableApproval,
} from "./approvals.ts";
export type { AuditEventInput, AuditEventType, AuditRecord } from "./audit-event.ts";
export { AuditLog, GENESIS_HASH, hashRecord } from "./audit-log.ts";
export { isChainSeq, type VerifyResult, verifyAuditChain } from "./audit-verify.ts";
export { canonicalJson, fingerprint, sha256Hex } from "./canonical-json.ts";
export {
  applyEgress,
  type EgressOptions,
  type EgressResult,
  filterToSchema,
  redactAndCap,
} from "./egress.ts";
export { AuthError, type AuthErrorCode, type Identity } from "./identity.ts";
export { KillSwitches } from "./kill-switches.ts";
export {
  BASE_POLICY_DIR,
  type PolicyDecision,
  PolicyEngine,
  PolicyLoadError,
  type PolicyRequest,
  type RecordResource,
  type SubjectResource,
  type ToolResource,
} from "./policy-engine.ts";
export {
  memoryRateLimitStore,
  parseRateLimit,
  type RateBucket,
  type RateDecision,
  type RateLimit,
  type RateLimitConfig,
  type RateLimitStore,
  RateLimits,
} from "./rate-limits.ts";
export {
  AUDIT_STRING_LIMIT,
  type RedactionCounter,
  redactForAudit,
  redactString,
  redactValue,
} from "./redaction.ts";
export {
  OTHER_SOURCES,
  type Refusal,
  RefusalRecorder,
  type RefusalRecorderOptions,
} from "./refusal-recorder.ts";
export {
  REVOCATION_KINDS,
  type Revocation,
  RevocationInputError,
  type RevocationKind,
  Revocations,
  revocationProblem,
} from "./revocations.ts";
export {
  ACCEPTED_ALGORITHMS,
  createTokenVerifier,
  identityFromClaims,
  type TokenVerifier,
  type TokenVerifierOptions,
} from "./token-verifier.ts";
