import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claudeDesktopConfigPath } from "../../packages/cli/src/commands/desktop-config.ts";
import { discoverServers } from "../../packages/cli/src/servers.ts";
import { CLI_MAIN, runCliAsync } from "../support/cli.ts";
import { EMEA_ORDER } from "../support/servers.ts";

interface DesktopEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}
interface DesktopConfig {
  mcpServers: Record<string, DesktopEntry | Record<string, unknown>>;
  [key: string]: unknown;
}

const FOREIGN = { command: "uvx", args: ["mcp-server-fetch"], env: { FETCH_TIMEOUT: "5" } };

/** A configuration a person already has: someone else's server, an outdated gatehouse entry, other settings. */
const BEFORE = {
  globalShortcut: "Ctrl+Space",
  mcpServers: {
    fetch: FOREIGN,
    "gatehouse-retired-server": { command: "node", args: ["old.js"] },
  },
};

describe("gatehouse desktop-config: Claude Desktop entries for every server", () => {
  let tmp: string;
  let dataDir: string;
  let file: string;
  let written: { status: number; stdout: string; stderr: string };
  const known = discoverServers();
  // The CLI would run with none of the test process's settings: only what its entry says.
  const cliEnv = () => ({ GATEHOUSE_DATA_DIR: dataDir, DATABASE_URL: "", GATEHOUSE_ISSUER: "" });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "gatehouse-desktop-"));
    dataDir = join(tmp, "gatehouse-data");
    file = join(tmp, "Claude", "claude_desktop_config.json");
    mkdirSync(join(tmp, "Claude"));
    writeFileSync(file, `${JSON.stringify(BEFORE, null, 2)}\n`);
    written = await runCliAsync(["desktop-config", "--user", "alice", "--file", file], cliEnv());
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  const config = () => JSON.parse(readFileSync(file, "utf8")) as DesktopConfig;
  const entries = () =>
    Object.entries(config().mcpServers).filter(([k]) => k.startsWith("gatehouse-")) as Array<
      [string, DesktopEntry]
    >;

  it("writes one gatehouse-<server> entry per discovered server, with absolute paths", () => {
    expect(written.status, written.stderr).toBe(0);
    expect(known.map((s) => s.name)).toEqual(
      expect.arrayContaining(["order-lookup", "crm-read", "ticket-draft", "ticket-send"]),
    );
    expect(entries().map(([k]) => k)).toEqual(known.map((s) => `gatehouse-${s.name}`));
    for (const [key, entry] of entries()) {
      const server = key.slice("gatehouse-".length);
      expect(entry.command).toBe(process.execPath);
      expect(isAbsolute(entry.command)).toBe(true);
      // Plain node runs the CLI: no loader, no compiler process beside the server.
      const [cli, ...rest] = entry.args;
      expect(cli).toBe(CLI_MAIN);
      expect(rest).toEqual(["stdio", server, "--user", "alice"]);
      expect(entry.env).toEqual({ GATEHOUSE_DATA_DIR: dataDir });
    }
  });

  it("keeps the person's other servers and settings, replaces only gatehouse-* entries, and keeps a backup", () => {
    const after = config();
    expect(after.globalShortcut).toBe("Ctrl+Space");
    expect(after.mcpServers.fetch).toEqual(FOREIGN);
    expect(after.mcpServers["gatehouse-retired-server"]).toBeUndefined();
    expect(JSON.parse(readFileSync(`${file}.bak`, "utf8"))).toEqual(BEFORE);
    // No temp files are left next to it.
    expect(readdirSync(join(tmp, "Claude")).sort()).toEqual(
      ["claude_desktop_config.json", "claude_desktop_config.json.bak"].sort(),
    );
  });

  it("produces the same file when run again (the merge is idempotent)", async () => {
    const first = readFileSync(file, "utf8");
    const again = await runCliAsync(["desktop-config", "--user", "alice", "--file", file], cliEnv());
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(first);
    expect(readFileSync(`${file}.bak`, "utf8")).toBe(first);
  });

  // Claude Desktop starts each entry on its own; the stdio command runs the sandbox stand-ins it needs
  // in its own process, so the entries are launched one after another, never at once.
  it("starts every entry exactly as Claude Desktop would, and each server lists its own tools", async () => {
    for (const [key, entry] of entries()) {
      const server = known.find((s) => `gatehouse-${s.name}` === key)!;
      const expected = (await server.load()).tools.map((t) => t.name);
      const transport = new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: entry.env,
        cwd: tmp,
        stderr: "pipe",
      });
      let log = "";
      transport.stderr?.on("data", (c: Buffer) => {
        log += c.toString("utf8");
      });
      const client = new Client({ name: "claude-desktop-stand-in", version: "1.0.0" });
      try {
        await client.connect(transport);
        const listed = (await client.listTools()).tools.map((t) => t.name);
        expect(listed, `${key}\n${log}`).toEqual(expected);
        if (server.name === "order-lookup") {
          // The entry's identity is alice (tenant emea): a governed call works as her.
          const r = await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
          expect(r.isError, `${JSON.stringify(r.content)}\n${log}`).toBeFalsy();
          const order = (r.structuredContent as { order: { tenant: string } }).order;
          expect(order.tenant).toBe("emea");
        }
      } finally {
        await client.close();
      }
    }
  });

  it("prints the entries without touching any file unless asked to write", async () => {
    const printed = await runCliAsync(["desktop-config", "--user", "bob"], cliEnv());
    expect(printed.status, printed.stderr).toBe(0);
    const shown = JSON.parse(printed.stdout) as DesktopConfig;
    expect(Object.keys(shown.mcpServers)).toEqual(known.map((s) => `gatehouse-${s.name}`));
    expect((shown.mcpServers["gatehouse-order-lookup"] as DesktopEntry).args.slice(-2)).toEqual([
      "--user",
      "bob",
    ]);
  });

  it("refuses to overwrite a configuration it cannot parse, and an unknown user", async () => {
    const broken = join(tmp, "broken", "claude_desktop_config.json");
    mkdirSync(join(tmp, "broken"));
    writeFileSync(broken, '{ "mcpServers": { "fetch": ');
    const r = await runCliAsync(["desktop-config", "--file", broken], cliEnv());
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("is not valid JSON");
    expect(readFileSync(broken, "utf8")).toBe('{ "mcpServers": { "fetch": ');
    expect(existsSync(`${broken}.bak`)).toBe(false);

    const u = await runCliAsync(["desktop-config", "--user", "mallory"], cliEnv());
    expect(u.status).not.toBe(0);
    expect(u.stderr).toContain('unknown user "mallory"');
  });

  it("knows where Claude Desktop keeps its configuration on each platform", () => {
    expect(claudeDesktopConfigPath("darwin", {}, "/Users/alice")).toBe(
      "/Users/alice/Library/Application Support/Claude/claude_desktop_config.json",
    );
    expect(
      claudeDesktopConfigPath("win32", { APPDATA: "C:\\Users\\alice\\AppData\\Roaming" }, "C:\\Users\\alice"),
    ).toBe("C:\\Users\\alice\\AppData\\Roaming\\Claude\\claude_desktop_config.json");
    expect(claudeDesktopConfigPath("linux", {}, "/home/alice")).toBe(
      "/home/alice/.config/Claude/claude_desktop_config.json",
    );
  });
});
