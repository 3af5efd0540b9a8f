/**
 * The MCP client side of the tunnel suite, run as its own process inside the *agent* namespace
 * (`ip netns exec <agent> node test/tunnel/agent-client.ts`): the MCP SDK's client, signing in with OAuth
 * through the tunnel exactly as a remote agent host would. The suite drives it over stdin/stdout, one JSON
 * object per line ({id, op, …} in; {id, ok, value | error, ms} out); calls run concurrently, so one can be
 * in flight while the suite cuts the tunnel.
 */
import { createInterface } from "node:readline";
import type { Client } from "@modelcontextprotocol/client";
import { decodeJwt } from "jose";
import { connectWithSignIn, type RecordingOAuthProvider } from "../support/oauth-client.ts";

export type AgentRequest =
  | { id: number; op: "signIn"; url: string; user: string }
  | { id: number; op: "call"; url: string; tool: string; args: Record<string, unknown> }
  | { id: number; op: "close" };

export type AgentReply =
  | { id: number; ok: true; value: unknown; ms: number }
  | { id: number; ok: false; error: string; ms: number };

const clients = new Map<string, { client: Client; provider: RecordingOAuthProvider }>();

/** An error's message with its causes (fetch's "fetch failed" says why only in `cause`). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err as { message?: string; code?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    parts.push([e.message, e.code].filter(Boolean).join(" "));
    if (parts.length > 4) break;
  }
  return parts.join(" ← ");
}

async function handle(req: AgentRequest): Promise<unknown> {
  switch (req.op) {
    case "signIn": {
      const { client, provider } = await connectWithSignIn(req.url, req.user);
      clients.set(req.url, { client, provider });
      const claims = decodeJwt(provider.saved!.access_token);
      const { tools } = await client.listTools();
      return {
        tools: tools.map((t) => t.name),
        aud: claims.aud,
        iss: claims.iss,
        clientId: claims.client_id,
      };
    }
    case "call": {
      const c = clients.get(req.url);
      if (!c) throw new Error(`not signed in to ${req.url}`);
      return c.client.callTool({ name: req.tool, arguments: req.args });
    }
    case "close":
      await Promise.all([...clients.values()].map((c) => c.client.close()));
      setImmediate(() => process.exit(0));
      return null;
  }
}

const reply = (r: AgentReply) => process.stdout.write(`${JSON.stringify(r)}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const req = JSON.parse(line) as AgentRequest;
  const started = Date.now();
  handle(req).then(
    (value) => reply({ id: req.id, ok: true, value, ms: Date.now() - started }),
    (err: unknown) => reply({ id: req.id, ok: false, error: describe(err), ms: Date.now() - started }),
  );
}
