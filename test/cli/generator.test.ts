import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadIdentities, mintToken } from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverServers } from "../../packages/cli/src/servers.ts";
import { nextFreePort } from "../../scripts/gen-server.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GEN = join(ROOT, "scripts", "gen.ts");
const exec = promisify(execFile);

/** Runs `pnpm gen …` as a person would (the script itself, without pnpm's own start-up). */
async function gen(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [GEN, ...args], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    return {
      status: typeof f.code === "number" ? f.code : 1,
      stdout: f.stdout ?? "",
      stderr: f.stderr ?? "",
    };
  }
}

/** Runs a repository tool (tsc, biome) without blocking this process, which serves the test issuer. */
async function tool(bin: string, args: string[]): Promise<{ status: number; output: string }> {
  try {
    const r = await exec(join(ROOT, "node_modules", ".bin", bin), args, { cwd: ROOT, timeout: 120_000 });
    return { status: 0, output: r.stdout + r.stderr };
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof f.code === "number" ? f.code : 1, output: `${f.stdout ?? ""}${f.stderr ?? ""}` };
  }
}

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("\n");

/**
 * The generated package lives in a throwaway folder inside the repository (so the repository's
 * node_modules, shared configs and formatter apply), but outside servers/: a `gatehouse` command or
 * suite running at the same time never discovers it. The sandbox identities it grants its scope in are
 * a copy, so tokens minted elsewhere meanwhile never change.
 */
describe("pnpm gen server: a new governed server from templates/server", () => {
  const name = `zz-gen-test-${randomBytes(3).toString("hex")}`;
  const scope = `${name}:read`;
  const toolName = `ping_${name.replaceAll("-", "_")}`;
  let parent: string;
  let dir: string;
  let scratch: string;
  let identities: string;
  let generated: { status: number; stdout: string; stderr: string };
  let env: TestEnvironment | undefined;
  let server: SpawnedServer | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    parent = mkdtempSync(join(ROOT, ".gen-test-"));
    dir = join(parent, name);
    scratch = mkdtempSync(join(tmpdir(), "gatehouse-gen-"));
    identities = join(scratch, "identities.json");
    copyFileSync(join(ROOT, "packages", "sandbox", "identities.json"), identities);
    generated = await gen("server", name, "--dir", dir, "--identities", identities);
    if (generated.status !== 0) return;
    // What `pnpm install` would do for the new package: link its dependencies (test tooling as a dev one).
    mkdirSync(join(dir, "node_modules", "@gatehouse"), { recursive: true });
    symlinkSync(join(ROOT, "packages", "kit"), join(dir, "node_modules", "@gatehouse", "kit"), "dir");
    symlinkSync(join(ROOT, "packages", "testing"), join(dir, "node_modules", "@gatehouse", "testing"), "dir");
    symlinkSync(
      realpathSync(join(ROOT, "packages", "kit", "node_modules", "zod")),
      join(dir, "node_modules", "zod"),
      "dir",
    );
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.stop();
    await env?.close();
    if (parent) rmSync(parent, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("creates the package, on the next free port, and says what to do next", () => {
    expect(generated.status, generated.stderr).toBe(0);
    for (const f of [
      "package.json",
      "tsconfig.json",
      "vitest.config.ts",
      "src/server.ts",
      "src/main.ts",
      "src/index.ts",
      `src/tools/ping-${name}.ts`,
      `policy/${name}.cedar`,
      "test/server.test.ts",
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      name: string;
      gatehouse: { defaultPort: number; systems: string[] };
    };
    expect(pkg.name).toBe(`@gatehouse/${name}`);
    expect(pkg.gatehouse).toEqual({
      defaultPort: nextFreePort(discoverServers().map((s) => s.defaultPort)),
      systems: [],
    });
    expect(generated.stdout).toContain("next steps:");
    expect(generated.stdout).toContain("pnpm install");
    const test = readFileSync(join(dir, "test", "server.test.ts"), "utf8");
    expect(test).toContain('from "@gatehouse/testing"');
    expect(test).toMatch(/describeGovernedServer\(\w+, \{ entry: /);
  });

  it("grants the new scope to support agents and admins, and changes nothing else", () => {
    const before = loadIdentities(join(ROOT, "packages", "sandbox", "identities.json"));
    const after = loadIdentities(identities);
    expect(after.roleScopes.support_agent).toContain(scope);
    expect(after.roleScopes.admin).toContain(scope);
    expect(after.roleScopes.approver).not.toContain(scope);
    const without = (scopes: string[]) => scopes.filter((s) => s !== scope);
    expect(Object.fromEntries(Object.entries(after.roleScopes).map(([r, s]) => [r, without(s)]))).toEqual(
      before.roleScopes,
    );
    expect(after.users).toEqual(before.users);
  });

  it("is a server the gatehouse command discovers, with its definition, port and (no) systems", async () => {
    const found = discoverServers(parent);
    expect(found.map((s) => s.name)).toEqual([name]);
    const def = await found[0]!.load();
    expect(def.name).toBe(name);
    expect(def.defaultPort).toBe(found[0]!.defaultPort);
    expect(def.tools.map((t) => [t.name, t.kind, t.scope])).toEqual([[toolName, "read", scope]]);
    expect(found[0]!.systems).toEqual([]);
  });

  it("type-checks (its test included) and passes the repository's lint and format", async () => {
    const tsc = await tool("tsc", ["-p", join(dir, "tsconfig.json")]);
    expect(tsc.status, tsc.output).toBe(0);
    const biome = await tool("biome", ["check", dir]);
    expect(biome.status, biome.output).toBe(0);
  });

  describe("over HTTP, through the whole governed pipeline", () => {
    let url: string;
    const as = async (user: string, scopes?: string[]) => {
      const token = await mintToken(
        env!.issuer.keys,
        { issuer: env!.issuer.url, user, audience: url, scopes },
        loadIdentities(identities),
      );
      const client = await connectHttp(url, token);
      clients.push(client);
      return client;
    };
    const eventOf = async (result: unknown) => {
      const id = (result as { _meta?: Record<string, unknown> })._meta?.["io.gatehouse/audit-event"];
      const event = (await env!.audit.latest(200)).find((e) => e.id === id);
      if (!event) throw new Error(`no audit event ${String(id)}`);
      return event;
    };

    beforeAll(async () => {
      if (generated.status !== 0) return;
      env = await createTestEnvironment({ storeKind: "sqlite" });
      server = await spawnHttpServer(join(dir, "src", "main.ts"), env.env);
      url = server.url;
    });

    it("answers dave (admin, default sandbox scopes) with its typed result, and audits the call", async () => {
      const dave = await as("dave");
      const listed = (await dave.listTools()).tools;
      expect(listed.map((t) => t.name)).toEqual([toolName]);
      expect(listed[0]!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      const result = await dave.callTool({ name: toolName, arguments: {} });
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(result.structuredContent).toEqual({ message: `${name} is answering`, tenant: "emea" });
      const event = await eventOf(result);
      expect(event).toMatchObject({
        type: "tool.completed",
        server: name,
        tool: toolName,
        user_id: "dave",
        decision: "allow",
      });
      expect(event.policy_ids).toContain(`${name}.admins-read`);
      const chain = await env!.audit.byCorrelation(event.correlation_id);
      expect(chain.map((e) => e.type)).toEqual(["tool.requested", "tool.completed"]);
    });

    it("answers bob (support agent, tenant na) in his own tenant", async () => {
      const result = await (await as("bob")).callTool({ name: toolName, arguments: {} });
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(result.structuredContent).toEqual({ message: `${name} is answering`, tenant: "na" });
      expect((await eventOf(result)).policy_ids).toContain(`${name}.support-agents-read`);
    });

    it("refuses an approver even with the scope on her token: policy permits only support agents and admins", async () => {
      const carol = await as("carol", [scope]);
      const result = await carol.callTool({ name: toolName, arguments: {} });
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      expect(await eventOf(result)).toMatchObject({
        type: "tool.denied",
        user_id: "carol",
        tool: toolName,
        decision: "deny",
      });
    });
  });

  it("refuses a name that is not kebab-case, or that a server or package already has, and writes nothing", async () => {
    const before = readFileSync(identities, "utf8");
    for (const [bad, message] of [
      ["Stock_Levels", "is not a server name"],
      ["order-lookup", "servers/order-lookup already exists"],
      ["kit", "@gatehouse/kit is taken by packages/kit"],
    ] as const) {
      const r = await gen("server", bad, "--dir", join(parent, `refused-${bad}`), "--identities", identities);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
      expect(existsSync(join(parent, `refused-${bad}`))).toBe(false);
    }
    expect(readFileSync(identities, "utf8")).toBe(before);
  });
});
