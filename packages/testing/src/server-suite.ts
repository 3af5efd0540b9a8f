import { dirname, join, relative } from "node:path";
import {
  annotationsFor,
  listTools,
  protectedResourceMetadataUrl,
  SCOPE_NAME,
  type ServerDefinition,
  type Services,
  type SpawnedServer,
  spawnHttpServer,
  TOOL_NAME,
  type ToolDefinition,
  type ToolListing,
} from "@gatehouse/kit";
import {
  defaultScopes,
  loadIdentities,
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectHttp } from "./clients.ts";
import {
  type BearerProxy,
  CONFORMANCE_REQUIREMENTS,
  type ConformanceRun,
  compareWithBaseline,
  describeChecks,
  EXPECTED_FAILURES_DIR,
  expectedFailuresFile,
  readExpectedFailures,
  runConformance,
  startBearerProxy,
} from "./conformance.ts";
import { createTestEnvironment, standInEnv, type TestEnvironment } from "./environment.ts";

export interface GovernedServerSuiteOptions {
  /** The server's entry point (its src/main.ts), started as a real process over HTTP. */
  entry: string;
  /** A seeded user whose default sandbox scopes include every tool's scope. Defaults to "dave" (admin). */
  user?: string;
  /**
   * Where the pinned tool definitions live. Defaults to `<server>/test/__snapshots__/tool-definitions.snap`
   * next to the entry's package (`.snap`, not `.json`, so the formatter never rewrites it).
   */
  snapshot?: string;
  /** Extra settings the server needs (e.g. a client secret at the identity provider). */
  env?: Record<string, string>;
  /**
   * For a server whose calls succeed only with systems this suite does not start (business needs the
   * domain servers running): the suite that covers its successful calls instead.
   */
  successfulCallsCoveredBy?: string;
}

/**
 * Conformance scenarios every server must pass outright under each requirement set: the protocol core a
 * tools-only server cannot excuse. The expected-failures files may never list them.
 */
export const CONFORMANCE_MUST_PASS: Record<string, readonly string[]> = {
  "2025-11-25": ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"],
  "2026-07-28": ["tools-list", "dns-rebinding-protection", "http-header-validation"],
};

/** Generous limits: this suite is not about rate limiting and must never trip it. */
const RELAXED_LIMITS = {
  GATEHOUSE_RATE_LIMIT_USER: "10000/60s",
  GATEHOUSE_RATE_LIMIT_TENANT: "10000/60s",
  GATEHOUSE_RATE_LIMIT_TOOL: "10000/60s",
};

const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};

/** A field no tool declares: every tool must refuse it by name. */
const UNKNOWN_FIELD = "gatehouse_suite_unknown_field";

type AnyTool = ToolDefinition<unknown>;
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  minLength?: number;
  default?: unknown;
};

/**
 * The one-line test suite every governed server runs: tool-name and scope rules, annotations derived
 * from each tool's kind, input and output schemas, pinned tool definitions, the HTTP gate (401/403,
 * RFC 9728 metadata, audited refusals), unknown arguments refused, and the MCP conformance scenarios.
 *
 * ```ts
 * describeGovernedServer(orderLookup, { entry: new URL("../src/main.ts", import.meta.url).pathname });
 * ```
 */
export function describeGovernedServer<S extends Services>(
  serverDef: ServerDefinition<S>,
  opts: GovernedServerSuiteOptions,
): void {
  const def = serverDef as unknown as ServerDefinition;
  const tools = def.tools as unknown as AnyTool[];
  const user = opts.user ?? "dave";
  const snapshotFile =
    opts.snapshot ?? join(dirname(dirname(opts.entry)), "test", "__snapshots__", "tool-definitions.snap");
  const toolScopes = [...new Set(tools.map((t) => t.scope))].sort();
  const serverScopes = [...new Set(tools.flatMap((t) => [t.scope, ...(t.piiScope ? [t.piiScope] : [])]))];
  const byTool = tools.map((t) => [t.name, t] as const);

  describe(`${def.name} as a governed server (shared suite)`, () => {
    let env: TestEnvironment;
    let hubspot: RunningHubSpot | undefined;
    let jira: RunningJira | undefined;
    let server: SpawnedServer;
    let client: Client;
    let served: ToolListing[];

    const rejections = async () =>
      (await env.audit.latest(1000))
        .filter((e) => e.type === "auth.rejected" && e.server === def.name)
        .map((e) => ({ ...e, detail: JSON.parse(e.detail) as { reason: string; status: number } }));

    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(server.url, {
        method: "POST",
        headers: { ...MCP_HEADERS, ...headers },
        body: JSON.stringify(body),
      });

    const firstTool = tools[0]!;
    const callBody = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: firstTool.name, arguments: {} },
    };

    beforeAll(async () => {
      env = await createTestEnvironment({ storeKind: "sqlite" });
      // Both vendor stand-ins always run: they are cheap, and any server then finds what it needs.
      hubspot = await startHubSpotSandbox({ port: 0 });
      jira = await startJiraSandbox({ port: 0 });
      server = await spawnHttpServer(opts.entry, {
        ...env.env,
        ...RELAXED_LIMITS,
        ...standInEnv({ hubspot, jira }),
        ...opts.env,
      });
      client = await connectHttp(server.url, await env.mint(user, { audience: server.url }));
      served = (await client.listTools()).tools as unknown as ToolListing[];
    });

    afterAll(async () => {
      await client?.close();
      await server?.stop();
      await hubspot?.close();
      await jira?.close();
      await env?.close();
    });

    describe("tool definitions", () => {
      it("has at least one tool, with unique names", () => {
        const names = tools.map((t) => t.name);
        expect(names.length).toBeGreaterThan(0);
        expect(new Set(names).size).toBe(names.length);
      });

      it.each(byTool)("%s: name, title, description and scopes follow the rules", (name, tool) => {
        expect(name).toMatch(TOOL_NAME);
        expect(tool.title.trim()).not.toBe("");
        expect(tool.description.trim()).not.toBe("");
        expect(tool.scope).toMatch(SCOPE_NAME);
        if (tool.piiScope) expect(tool.piiScope).toMatch(SCOPE_NAME);
        expect(["read", "draft", "send"]).toContain(tool.kind);
      });

      it(`is tested as ${user}, whose default token carries every tool's scope`, () => {
        const dir = loadIdentities();
        const seeded = dir.users[user];
        expect(seeded, `unknown sandbox user ${user}`).toBeDefined();
        expect(defaultScopes(dir, seeded!)).toEqual(expect.arrayContaining(toolScopes));
      });

      it("pins every tool's name, description and schemas: a changed definition needs `vitest -u`", async () => {
        await expect(`${JSON.stringify(listTools(def), null, 2)}\n`).toMatchFileSnapshot(snapshotFile);
      });
    });

    describe("tools/list over a real MCP client", () => {
      it("lists exactly the defined tools, as pinned", () => {
        expect(served.map((t) => t.name)).toEqual(tools.map((t) => t.name));
        const pick = (t: ToolListing) => ({
          name: t.name,
          title: t.title,
          description: t.description,
          inputSchema: t.inputSchema,
          outputSchema: t.outputSchema,
          annotations: t.annotations,
        });
        expect(served.map(pick)).toEqual(listTools(def).map(pick));
      });

      it.each(byTool)("%s: annotations follow from its kind", (name, tool) => {
        const listed = served.find((t) => t.name === name)!;
        expect(listed.annotations).toEqual({ title: tool.title, ...annotationsFor(tool.kind) });
      });

      it.each(byTool)("%s: declares object input and output schemas, refusing unknown input", (name) => {
        const listed = served.find((t) => t.name === name)!;
        expect(listed.inputSchema.type).toBe("object");
        expect(listed.inputSchema.additionalProperties).toBe(false);
        expect(listed.outputSchema?.type).toBe("object");
        expect(
          Object.keys((listed.outputSchema.properties as object | undefined) ?? {}).length,
        ).toBeGreaterThan(0);
      });
    });

    describe("the HTTP gate", () => {
      it("answers a request without a token with 401 and a pointer to its protected-resource metadata", async () => {
        const before = (await rejections()).length;
        const res = await post({}, callBody);
        expect(res.status).toBe(401);
        const metadataUrl = protectedResourceMetadataUrl(server.url);
        expect(metadataUrl).toBe(`${new URL(server.url).origin}/.well-known/oauth-protected-resource/mcp`);
        expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${metadataUrl}"`);
        const after = await rejections();
        expect(after.length).toBe(before + 1);
        expect(after.at(-1)!.detail.reason).toBe("no access token was presented");
      });

      it("publishes RFC 9728 metadata naming its resource, the issuer and every tool scope", async () => {
        const res = await fetch(protectedResourceMetadataUrl(server.url));
        expect(res.status).toBe(200);
        const meta = (await res.json()) as Record<string, unknown>;
        expect(meta.resource).toBe(server.url);
        expect(meta.authorization_servers).toEqual([env.issuer.url]);
        expect(meta.scopes_supported).toEqual(expect.arrayContaining(serverScopes));
        expect(meta.bearer_methods_supported).toEqual(["header"]);
      });

      it("refuses a token minted for another server with 401 invalid_token, and audits it", async () => {
        const before = (await rejections()).length;
        const token = await env.mint(user, { audience: "http://127.0.0.1:7999/mcp" });
        const res = await post({ authorization: `Bearer ${token}` }, callBody);
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(
          /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="http:\/\/.+\/\.well-known\/oauth-protected-resource\/mcp"$/,
        );
        expect(((await res.json()) as { error: string }).error).toBe("invalid_token");
        const after = await rejections();
        expect(after.length).toBe(before + 1);
        expect(after.at(-1)!.outcome).toBe("invalid_token");
        expect(after.at(-1)!.detail.reason).toContain("not issued for this server");
        expect(after.at(-1)!.user_id).toBeNull();
      });

      it("answers 403 insufficient_scope to a valid token without any of its scopes, and audits it", async () => {
        const dir = loadIdentities();
        const foreign = [...new Set(Object.values(dir.roleScopes).flat())].filter(
          (s) => !serverScopes.includes(s),
        );
        const token = await env.mint(user, {
          audience: server.url,
          scopes: foreign.length ? foreign : ["unrelated:read"],
        });
        const before = (await rejections()).length;
        const res = await post({ authorization: `Bearer ${token}` }, callBody);
        expect(res.status).toBe(403);
        const challenge = String(res.headers.get("www-authenticate"));
        expect(challenge).toContain('error="insufficient_scope"');
        for (const scope of serverScopes) expect(challenge).toContain(scope);
        const after = await rejections();
        expect(after.length).toBe(before + 1);
        expect(after.at(-1)!.outcome).toBe("insufficient_scope");
        expect(after.at(-1)!.user_id).toBe(user);
      });
    });

    describe("tool calls", () => {
      it.each(byTool)("%s: refuses an unknown argument by name, before anything runs", async (name) => {
        const listed = served.find((t) => t.name === name)!;
        const args = { ...(placeholder(listed.inputSchema) as object), [UNKNOWN_FIELD]: 1 };
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError).toBe(true);
        expect(result.structuredContent).toBeUndefined();
        expect(textOf(result)).toContain(`unknown field(s) "${UNKNOWN_FIELD}"`);
        const event = await auditEvent(env, result);
        expect(event.type).toBe("tool.failed");
        expect(JSON.parse(event.detail).stage).toBe("input");
      });

      // Read tools whose every argument is optional or defaulted can be called cheaply with none.
      const callableWithoutArguments = byTool.filter(
        ([name, t]) => t.kind === "read" && (inputSchemaOf(def, name).required ?? []).length === 0,
      );
      // Servers with no such tool (ticket-send), or whose calls need other servers (business), are checked
      // for successful calls by their own suites.
      if (callableWithoutArguments.length > 0 && !opts.successfulCallsCoveredBy)
        it.each(callableWithoutArguments)(
          "%s: a successful call returns structured content matching its output schema",
          async (name, tool) => {
            const result = await client.callTool({ name, arguments: {} });
            expect(result.isError, textOf(result)).toBeFalsy();
            expect(result.structuredContent).toBeDefined();
            const parsed = tool.output.safeParse(result.structuredContent);
            expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
            // Nothing undeclared reaches the caller: parsing (which drops unknown keys) changes nothing.
            expect(parsed.data).toEqual(result.structuredContent);
            expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
            expect((result._meta as Record<string, unknown>)["io.gatehouse/audit-event"]).toEqual(
              expect.any(String),
            );
          },
        );
    });

    // The conformance CLI cannot send a bearer token, so it talks to a loopback proxy that adds one; the
    // server itself is unchanged and still refuses the CLI's requests without it (checked last).
    describe("MCP conformance (every scenario of each requirement set, against the expected failures)", () => {
      let proxy: BearerProxy;
      const runs = new Map<string, ConformanceRun>();

      beforeAll(async () => {
        proxy = await startBearerProxy({
          target: server.url,
          token: await env.mint(user, { audience: server.url }),
        });
        // One after the other: the scenarios of one run already go out in parallel.
        for (const requirements of CONFORMANCE_REQUIREMENTS)
          runs.set(
            requirements,
            await runConformance({
              url: proxy.url,
              requirements,
              expectedFailures: expectedFailuresFile(requirements),
            }),
          );
      }, 600_000);

      afterAll(async () => {
        await proxy?.close();
      });

      it.each(CONFORMANCE_REQUIREMENTS)(
        "%s: fails exactly what its expected-failures file lists, and nothing else",
        (requirements) => {
          const file = expectedFailuresFile(requirements);
          const where = relative(join(EXPECTED_FAILURES_DIR, "..", ".."), file);
          const run = runs.get(requirements)!;
          const output = `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`;
          expect(Object.keys(run.scenarios).length, `the CLI ran no scenario:\n${output}`).toBeGreaterThan(0);
          const verdict = compareWithBaseline(run.scenarios, readExpectedFailures(file));
          const problems = [
            verdict.unexpected.length &&
              `unexpected failures (fix the server, or list them in ${where} with why):\n${describeChecks(run.scenarios, verdict.unexpected)}`,
            verdict.stale.length &&
              `now passing, so remove them from ${where}:\n  ${verdict.stale.join("\n  ")}`,
            verdict.notRun.length &&
              `listed in ${where} but not run under ${requirements}:\n  ${verdict.notRun.join("\n  ")}`,
          ].filter(Boolean);
          expect(problems.join("\n"), problems.join("\n")).toBe("");
          // The CLI's own verdict on the same file (scored scenarios only) must agree.
          expect(run.code, output).toBe(0);
        },
      );

      it.each(CONFORMANCE_REQUIREMENTS)("%s: passes the protocol core outright", (requirements) => {
        const run = runs.get(requirements)!;
        const listed = readExpectedFailures(expectedFailuresFile(requirements)).map((e) => e.scenario);
        for (const scenario of CONFORMANCE_MUST_PASS[requirements]!) {
          expect(listed, `${scenario} may not be an expected failure`).not.toContain(scenario);
          const checks = run.scenarios[scenario];
          expect(checks, `${scenario} did not run`).toBeDefined();
          expect(checks!.length, `${scenario} ran no check`).toBeGreaterThan(0);
          const bad = checks!.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
          expect(bad, `${scenario}: ${JSON.stringify(bad)}`).toEqual([]);
        }
      });

      it("fails without the proxy's token, so the passes above mean something", async () => {
        const direct = await runConformance({ url: server.url, requirements: "2025-11-25" });
        expect(direct.code).not.toBe(0);
        for (const scenario of CONFORMANCE_MUST_PASS["2025-11-25"]!.filter(
          (s) => s !== "dns-rebinding-protection",
        ))
          expect(
            direct.scenarios[scenario]?.some((c) => c.status === "FAILURE"),
            `${scenario} passed without a token`,
          ).toBe(true);
      });
    });
  });
}

function inputSchemaOf(def: ServerDefinition, name: string): JsonSchema {
  return listTools(def).find((l) => l.name === name)!.inputSchema as JsonSchema;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

async function auditEvent(env: TestEnvironment, result: unknown) {
  const id = (result as { _meta?: Record<string, unknown> })._meta?.["io.gatehouse/audit-event"];
  const event = (await env.audit.latest(500)).find((e) => e.id === id);
  if (!event) throw new Error(`no audit event ${String(id)} for this call`);
  return event;
}

/**
 * A value of the right shape for a JSON schema: required fields filled with type-correct stand-ins,
 * so an unknown-field refusal is not crowded out by "required" complaints about the others.
 */
function placeholder(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants?.length) return placeholder(variants.find((v) => v.type !== "null") ?? variants[0]!);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "string":
      return "x".repeat(Math.max(1, schema.minLength ?? 1));
    case "number":
    case "integer":
      return schema.minimum ?? 1;
    case "boolean":
      return false;
    case "array":
      return [];
    case "object": {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = placeholder(schema.properties?.[key] ?? {});
      return out;
    }
    default:
      return null;
  }
}
