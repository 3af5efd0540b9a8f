/**
 * A tiny reverse proxy for the business bench: it stands in front of a domain server whose backing system
 * is read in-process (order-lookup's SQLite orders database, ticket-draft's store), so there is no stand-in
 * to slow down, and adds the injected latency on the way in.
 *
 * Only tool calls are delayed: a tool call is what reaches the system, while the MCP handshake requests a
 * client sends around it (initialize, notifications/initialized, the GET for a server stream) do not. That
 * makes 50 ms here mean what 50 ms means at the HubSpot stand-in (per request to the system), whether the
 * caller reuses one connection (the bench's own clients) or connects per call (the business server).
 *
 * The target port is set after the proxy is listening: the server behind it is started with the proxy's
 * URL as its public (resource) URL, which it must know before it starts. Requests are forwarded with the
 * target's own Host (127.0.0.1:<port>), which passes the server's loopback Host check.
 */
import { Agent, createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface DelayProxy {
  /** The proxy's MCP URL (http://127.0.0.1:<proxy port>/mcp). */
  url: string;
  /** Where requests go from now on. */
  setTarget(port: number): void;
  /** Requests forwarded, and how many of them were tool calls (delayed). */
  counts(): { requests: number; delayed: number };
  close(): Promise<void>;
}

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

/** Whether a request body is a JSON-RPC tools/call (alone or in a batch). */
function isToolCall(body: Buffer): boolean {
  if (body.length === 0) return false;
  try {
    const msg = JSON.parse(body.toString("utf8")) as unknown;
    const msgs = Array.isArray(msg) ? msg : [msg];
    return msgs.some((m) => (m as { method?: unknown } | null)?.method === "tools/call");
  } catch {
    return false;
  }
}

export async function startDelayProxy(delayMs: number): Promise<DelayProxy> {
  let target: number | undefined;
  let requests = 0;
  let delayed = 0;
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const port = target;
      if (port === undefined) {
        res.writeHead(503).end("delay proxy has no target yet");
        return;
      }
      const body = Buffer.concat(chunks);
      requests++;
      const wait = isToolCall(body) ? delayMs : 0;
      if (wait > 0) delayed++;
      setTimeout(() => {
        if (res.destroyed) return;
        const upstream = request(
          {
            host: "127.0.0.1",
            port,
            method: req.method,
            path: req.url,
            agent,
            headers: { ...withoutHopByHop(req.headers), host: `127.0.0.1:${port}` },
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, withoutHopByHop(up.headers));
            up.pipe(res);
          },
        );
        upstream.on("error", (err) => {
          if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
          res.end(`delay proxy: ${err.message}`);
        });
        // A client that goes away (e.g. closing a server stream) takes the upstream request with it.
        res.on("close", () => {
          if (!res.writableFinished) upstream.destroy();
        });
        upstream.end(body);
      }, wait);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    setTarget(p) {
      target = p;
    },
    counts: () => ({ requests, delayed }),
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port that was free a moment ago (for a server that must be told its port up front). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
