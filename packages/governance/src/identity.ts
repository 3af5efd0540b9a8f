/** The effective identity of one tool call: which human, in which role and tenant, through which client. */
export interface Identity {
  user: string;
  roles: string[];
  tenant: string;
  client: string;
  /** `local` only for named local profiles on stdio; every audit event carries it. */
  env: string;
  tokenId: string;
  scopes: string[];
  /** When the access token expires (epoch seconds); absent for a local profile. */
  expiresAt?: number;
}

export type AuthErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope";

/** A refusal before any tool runs; HTTP maps it to 400/401/403 with a WWW-Authenticate challenge. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly description: string;
  readonly requiredScope?: string;
  /** The request carried no credentials at all (RFC 6750: its challenge names no error). */
  readonly noCredentials: boolean;

  constructor(code: AuthErrorCode, description: string, requiredScope?: string, noCredentials = false) {
    super(description);
    this.code = code;
    this.description = description;
    this.requiredScope = requiredScope;
    this.noCredentials = noCredentials;
    this.name = "AuthError";
  }

  /** A request that presented no access token. */
  static noToken(): AuthError {
    return new AuthError("invalid_token", "no access token was presented", undefined, true);
  }

  get status(): number {
    if (this.code === "insufficient_scope") return 403;
    if (this.code === "invalid_request") return 400;
    return 401;
  }
}
