import * as oidc from "openid-client";

/** What the browser carries (in a signed, short-lived cookie) between leaving for the issuer and coming back. */
export interface PendingSignIn {
  state: string;
  verifier: string;
  /** Where to go after signing in (a path on the console). */
  next: string;
}

/**
 * Sign-in through the identity provider with openid-client: authorization code + PKCE (S256), a resource
 * indicator (RFC 8707) naming the console, so the access token is the console's and carries the person's
 * tenant, roles and scopes. Without a configured client the console registers itself (RFC 7591).
 */
export class SignIn {
  private readonly config: oidc.Configuration;
  private readonly consoleUrl: string;

  private constructor(config: oidc.Configuration, consoleUrl: string) {
    this.config = config;
    this.consoleUrl = consoleUrl;
  }

  static async create(opts: {
    issuer: string;
    consoleUrl: string;
    client?: { id: string; secret?: string };
  }): Promise<SignIn> {
    const issuer = new URL(opts.issuer);
    // A loopback issuer is plain http; anything else must be https (openid-client refuses http otherwise).
    const insecure = issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : undefined;
    const redirect = new URL("/auth/callback", opts.consoleUrl).toString();
    const config = opts.client
      ? await oidc.discovery(
          issuer,
          opts.client.id,
          { redirect_uris: [redirect] },
          opts.client.secret ? oidc.ClientSecretBasic(opts.client.secret) : oidc.None(),
          insecure,
        )
      : await oidc.dynamicClientRegistration(
          issuer,
          {
            client_name: "Gatehouse console",
            redirect_uris: [redirect],
            grant_types: ["authorization_code"],
            response_types: ["code"],
            token_endpoint_auth_method: "none",
          },
          oidc.None(),
          insecure,
        );
    return new SignIn(config, opts.consoleUrl);
  }

  /** The identity provider's URL. */
  get issuer(): string {
    return this.config.serverMetadata().issuer;
  }

  get redirectUri(): string {
    return new URL("/auth/callback", this.consoleUrl).toString();
  }

  async begin(next: string): Promise<{ url: URL; pending: PendingSignIn }> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: "openid console:use",
      resource: this.consoleUrl,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
    });
    return { url, pending: { state, verifier, next } };
  }

  /** Exchanges the code the issuer sent back for the console access token (state and PKCE checked). */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<string> {
    const tokens = await oidc.authorizationCodeGrant(
      this.config,
      callbackUrl,
      { pkceCodeVerifier: pending.verifier, expectedState: pending.state },
      { resource: this.consoleUrl },
    );
    return tokens.access_token;
  }
}
