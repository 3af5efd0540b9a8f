import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const inspectorDir = dirname(
  createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json"),
);

/** The version the suites drive and the README tells people to run (`npx -y @modelcontextprotocol/inspector@…`). */
export const INSPECTOR_VERSION = "2.12.0";

/**
 * What `npx @modelcontextprotocol/inspector` runs (the package's `bin`): the launcher that starts the web
 * UI (`--web`, the default) or the CLI (`--cli`) in-process with the arguments after the mode flag.
 */
export const INSPECTOR_LAUNCHER = join(inspectorDir, "clients", "launcher", "build", "index.js");

/**
 * Inspector keeps a catalog, client config and OAuth state under `~/.mcp-inspector`: each run gets its own
 * home so the suites neither read nor leave anything in the developer's, and secrets stay in memory.
 */
function privateHome(): { env: Record<string, string>; remove(): void } {
  const home = mkdtempSync(join(tmpdir(), "gatehouse-inspector-"));
  return {
    env: { HOME: home, MCP_INSPECTOR_SECRET_STORE: "memory" },
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export interface InspectorCliRun {
  /** 0 success; 5 the tool answered isError; 3 authorisation needed (Inspector's exit-code map). */
  status: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON (`--format json`): `{ result }` on success and on a tool error. */
  json(): { result: Record<string, unknown> };
}

/**
 * `npx @modelcontextprotocol/inspector --cli <args…> --format json`, without blocking this process (the
 * sandbox issuer and stand-ins the servers call run in it).
 */
export async function inspectorCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<InspectorCliRun> {
  const home = privateHome();
  try {
    const { status, stdout, stderr } = await new Promise<{ status: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          // Inspector's own flags first: whatever follows `--` is the stdio server's command line.
          [INSPECTOR_LAUNCHER, "--cli", "--format", "json", ...args],
          { env: { ...process.env, ...env, ...home.env }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = (error as { code?: unknown } | null)?.code;
            resolve({ status: error ? (typeof code === "number" ? code : -1) : 0, stdout, stderr });
          },
        );
      },
    );
    return {
      status,
      stdout,
      stderr,
      json: () => {
        try {
          return JSON.parse(stdout) as { result: Record<string, unknown> };
        } catch {
          throw new Error(`Inspector printed no JSON (exit ${status}):\n${stdout}\n${stderr}`);
        }
      },
    };
  } finally {
    home.remove();
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface InspectorWeb {
  /** The web UI's origin; its OAuth redirect URL is `${origin}/oauth/callback`. */
  origin: string;
  /** The link Inspector prints, carrying its session token (`?MCP_INSPECTOR_API_TOKEN=…`). */
  link: string;
  stop(): Promise<void>;
}

/**
 * `npx @modelcontextprotocol/inspector --web --server-url <url>` as a person starts it: the web UI on
 * 127.0.0.1 (Inspector's default bind) with a random session token, no browser opened, secrets in memory
 * so every start signs in afresh.
 */
export async function startInspectorWeb(serverUrl: string): Promise<InspectorWeb> {
  const home = privateHome();
  // CLIENT_PORT must be a fixed port (Inspector derives its origin allow-list from it); the MCP Apps
  // sandbox and app origin may take any free port.
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [INSPECTOR_LAUNCHER, "--web", "--server-url", serverUrl],
    {
      env: {
        ...process.env,
        ...home.env,
        CLIENT_PORT: String(port),
        MCP_SANDBOX_PORT: "0",
        MCP_APP_ORIGIN_PORT: "0",
        MCP_AUTO_OPEN_ENABLED: "false",
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-(child.pid ?? 0), "SIGTERM");
      } catch {
        // already gone
      }
      await exited;
    }
    home.remove();
  };
  try {
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Inspector did not start:\n${output}`)), 60_000);
      const onData = (c: Buffer) => {
        output += c.toString("utf8");
        const url = /is up and running at:\s+(http:\/\/\S+\?MCP_INSPECTOR_API_TOKEN=[0-9a-f]+)/.exec(
          output,
        )?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Inspector exited (${code}):\n${output}`));
      });
    });
    return { origin: new URL(link).origin, link, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
