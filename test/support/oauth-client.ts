import {
  Client,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { signIn } from "./sign-in.ts";

/**
 * What an MCP host keeps for one server: its registered client, tokens, PKCE verifier and discovery
 * state. `redirectToAuthorization` records the URL instead of opening a browser; the test's
 * `signIn` plays the browser.
 */
export class RecordingOAuthProvider implements OAuthClientProvider {
  client?: StoredOAuthClientInformation;
  saved?: StoredOAuthTokens;
  verifier = "";
  discovery?: OAuthDiscoveryState;
  authorizationUrl?: URL;

  readonly redirectUrl: string;
  private readonly extra: Partial<OAuthClientMetadata>;

  constructor(
    redirectUrl = "http://127.0.0.1:6274/oauth/callback",
    extra: Partial<OAuthClientMetadata> = {},
  ) {
    this.redirectUrl = redirectUrl;
    this.extra = extra;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "Gatehouse OAuth test",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...this.extra,
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(s: OAuthDiscoveryState) {
    this.discovery = s;
  }
  discoveryState() {
    return this.discovery;
  }
}

/**
 * Connects a real MCP client to `serverUrl` the way an OAuth-capable host does: the first attempt gets a
 * 401, discovery and dynamic registration follow, the person signs in as `user`, the code is redeemed
 * with its PKCE verifier, and the client connects again with the new token.
 */
export async function connectWithSignIn(
  serverUrl: string,
  user: string,
  provider = new RecordingOAuthProvider(),
): Promise<{ client: Client; provider: RecordingOAuthProvider; callback: URL }> {
  const first = new Client({ name: "gatehouse-oauth-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  try {
    await first.connect(transport);
    throw new Error("expected the server to ask for sign-in");
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  if (!provider.authorizationUrl) throw new Error("the client was not sent to an authorization URL");
  const { callback } = await signIn(provider.authorizationUrl, user);
  await transport.finishAuth(callback.searchParams);
  const client = new Client({ name: "gatehouse-oauth-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider }));
  return { client, provider, callback };
}
