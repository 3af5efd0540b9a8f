import { serverScopes } from "@gatehouse/kit";
import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectWithSignIn, RecordingOAuthProvider } from "../support/oauth-client.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { definitionOf, EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { SignInBrowser } from "../support/sign-in.ts";
import { json, startDocumentServer } from "./fixtures/document-server.ts";

const REDIRECT = "http://127.0.0.1:6274/oauth/callback";

/** An MCP host that identifies itself by the URL of its client ID metadata document (no registration). */
class MetadataDocumentClient extends RecordingOAuthProvider {
  readonly clientMetadataUrl: string;
  constructor(url: string) {
    super(REDIRECT);
    this.clientMetadataUrl = url;
  }
}

const documentFor = (clientId: string, extra: Record<string, unknown> = {}) => ({
  client_id: clientId,
  client_name: "Gatehouse CIMD test client",
  redirect_uris: [REDIRECT],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
  ...extra,
});

/**
 * Client ID metadata documents (MCP 2025-11-25): the client_id is an https URL, the authorization server
 * fetches the document behind it, and every hostile document or fetch is refused with a reason the
 * person sees and the audit trail keeps.
 */
describe("sandbox authorization server: clients identified by client ID metadata documents", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;
  let docs: Awaited<ReturnType<typeof startDocumentServer>>;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    docs = await startDocumentServer();
    // The test's documents are on loopback with their own certificate; nothing else changes.
    env.issuer.setClientMetadataFetch({ allowLoopback: true, ca: docs.ca });
    env.issuer.setAudit((event) => env.audit.append(event));
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
    env.issuer.registerResource(server.url, { scopes: serverScopes(await definitionOf(ORDER_LOOKUP_ENTRY)) });
  });

  afterAll(async () => {
    await server?.stop();
    await docs?.close();
    await env?.close();
  });

  /** The authorization page a browser gets for `clientId`, and the text it shows. */
  const authorize = async (clientId: string, redirectUri = REDIRECT) => {
    const u = new URL(`${env.issuer.url}/authorize`);
    for (const [k, v] of Object.entries({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: "E9Melhoa2OwvFrEMTJguCCaoeKCBmx0bqZ4P7AoAmXk",
      code_challenge_method: "S256",
      resource: server.url,
    })) {
      u.searchParams.set(k, v);
    }
    const step = await new SignInBrowser(env.issuer.url).visit(u.href);
    return { ...step, text: (step.page ?? "").replace(/<[^>]+>/g, " ").replace(/&#39;/g, "'") };
  };

  /** The issuer's audit event refusing `clientId`, waited for briefly (it is written after the answer). */
  const refusalAudited = async (clientId: string) => {
    for (let i = 0; i < 50; i++) {
      const event = (await env.audit.latest(100)).find(
        (e) =>
          e.type === "auth.rejected" &&
          e.server === "authorization-server" &&
          (JSON.parse(e.detail) as { client_id?: string }).client_id === clientId,
      );
      if (event) return { ...event, detail: JSON.parse(event.detail) as { reason: string } };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no audit event refusing ${clientId}`);
  };

  it("advertises client ID metadata documents in its metadata, beside dynamic registration", async () => {
    const metadata = (await (
      await fetch(`${env.issuer.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.registration_endpoint).toBe(`${env.issuer.url}/register`);
  });

  it("signs alice in to the SDK client by its document URL, with no registration, and audits her call under that client", async () => {
    const url = docs.route(
      "/clients/good.json",
      json(documentFor(`${docs.origin}/clients/good.json`), { "cache-control": "max-age=300" }),
    );
    const registeredBefore = await (
      await fetch(`${env.issuer.url}/.well-known/oauth-authorization-server`)
    ).json();
    const { client, provider } = await connectWithSignIn(
      server.url,
      "alice",
      new MetadataDocumentClient(url),
    );
    try {
      expect(provider.client?.client_id).toBe(url);
      expect(decodeJwt(provider.saved?.access_token ?? "")).toMatchObject({
        aud: server.url,
        sub: "alice",
        client_id: url,
      });
      const r = (await client.callTool({
        name: "get_order",
        arguments: { order_id: EMEA_ORDER },
      })) as ToolResult;
      expect(r.isError, textOf(r)).toBe(false);
      const event = (await env.audit.latest(200)).find((e) => e.id === r._meta?.["io.gatehouse/audit-event"]);
      expect(event).toMatchObject({ user_id: "alice", client_id: url });
    } finally {
      await client.close();
    }
    expect(registeredBefore).toBeTruthy();
    // Fetched once for the authorization and the code exchange, then served from the cache its
    // Cache-Control allows: a second sign-in does not fetch again.
    const fetched = docs.hits("/clients/good.json");
    expect(fetched).toBe(1);
    const again = await connectWithSignIn(server.url, "alice", new MetadataDocumentClient(url));
    await again.client.close();
    expect(docs.hits("/clients/good.json")).toBe(fetched);
  });

  it("refuses a redirect_uri the document does not list exactly, and audits it", async () => {
    const url = docs.route("/clients/exact.json", json(documentFor(`${docs.origin}/clients/exact.json`)));
    const { text, redirect } = await authorize(url, "http://127.0.0.1:6274/oauth/callback/other");
    expect(redirect).toBeUndefined();
    expect(text).toMatch(/redirect_uri did not match any of the client's registered redirect_uris/);
    expect((await refusalAudited(url)).detail.reason).toMatch(/redirect_uri did not match/);
  });

  it("refuses a document whose client_id is not its own URL, and audits it", async () => {
    const url = docs.route(
      "/clients/impostor.json",
      json(documentFor("https://trusted.example/client.json")),
    );
    const { text, redirect } = await authorize(url);
    expect(redirect).toBeUndefined();
    expect(text).toMatch(/client_id metadata document client_id does not match/);
    expect((await refusalAudited(url)).detail.reason).toMatch(/client_id does not match/);
  });

  it("refuses a document larger than 5 KiB, and audits it", async () => {
    const url = docs.route(
      "/clients/large.json",
      json(documentFor(`${docs.origin}/clients/large.json`, { client_name: "x".repeat(6000) })),
    );
    const { text } = await authorize(url);
    expect(text).toMatch(/client_id metadata document fetch failed: .* is larger than 5120 bytes/);
    expect((await refusalAudited(url)).detail.reason).toMatch(/larger than 5120 bytes/);
  });

  it("gives up on a document that does not answer within the deadline, and audits it", async () => {
    const url = docs.route("/clients/slow.json", () => {
      // Never answers: the issuer's deadline (2.5 s) ends the fetch.
    });
    const started = Date.now();
    const { text } = await authorize(url);
    expect(Date.now() - started).toBeLessThan(10_000);
    // One fetch, one deadline: the refusal is remembered for the error page's second look-up.
    expect(docs.hits("/clients/slow.json")).toBe(1);
    expect(text).toMatch(/did not answer in time/);
    expect((await refusalAudited(url)).detail.reason).toMatch(/did not answer in time/);
  });

  it("does not follow a redirect to another document, and audits it", async () => {
    const target = docs.route("/clients/target.json", json(documentFor(`${docs.origin}/clients/moved.json`)));
    const url = docs.route("/clients/moved.json", (_req, res) => {
      res.writeHead(302, { location: target }).end();
    });
    const { text } = await authorize(url);
    expect(text).toMatch(/answered 302 \(a redirect\)/);
    expect(docs.hits("/clients/target.json")).toBe(0);
    expect((await refusalAudited(url)).detail.reason).toMatch(/redirects are not followed/);
  });

  it("refuses to fetch from private and link-local addresses, and audits each", async () => {
    for (const url of [
      "https://10.0.0.1/client.json",
      "https://169.254.169.254/latest/meta-data.json",
      "https://192.168.1.1/client.json",
      // A loopback address under a name other than localhost/127.0.0.1/[::1] is not the loopback allowance.
      "https://127.0.0.2/client.json",
    ]) {
      const { text } = await authorize(url);
      const host = new URL(url).hostname;
      expect(text, url).toMatch(
        new RegExp(
          `${host.replace(/\./g, "\\.")} resolves to ${host.replace(/\./g, "\\.")}, a private, loopback or link-local address`,
        ),
      );
      expect((await refusalAudited(url)).detail.reason, url).toMatch(/only public addresses are fetched/);
    }
  });

  it("refuses a document whose redirect_uris are neither https nor loopback http, and audits it", async () => {
    const url = docs.route(
      "/clients/catcher.json",
      json(
        documentFor(`${docs.origin}/clients/catcher.json`, { redirect_uris: ["http://catcher.example/cb"] }),
      ),
    );
    const { text } = await authorize(url, "http://catcher.example/cb");
    expect(text).toMatch(/redirect_uris must be https or loopback http/);
    expect((await refusalAudited(url)).detail.reason).toMatch(/redirect_uris must be https or loopback http/);
  });
});
