import { createHash } from "node:crypto";
import {
  type CallOutcome,
  META_CORRELATION_ID,
  outcomeOf,
  type ToolContext,
  ToolError,
} from "@gatehouse/kit";
import { startDownstreamSpan } from "@gatehouse/kit/telemetry";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { z } from "zod";
import {
  type DownstreamName,
  type DownstreamTool,
  PRODUCER_CONTRACTS,
  type ResultOf,
} from "./producer-contracts.ts";

export type { DownstreamName } from "./producer-contracts.ts";

export interface DownstreamConfig {
  urls: Record<DownstreamName, string>;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
}

/** Why a downstream part of a finding is missing: a closed vocabulary, never a system's own words. */
export type Unavailable = "refused" | "not_found" | "timeout" | "error" | "token_exchange_failed";

export type DownstreamResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: Unavailable; message: string };

type Ctx = Pick<ToolContext<unknown>, "callerToken" | "trace" | "signal">;

/**
 * Calls domain servers as the caller: each call uses a short-lived token for that one server, obtained
 * by RFC 8693 token exchange at the identity provider (never the caller's own token), and carries the
 * correlation id and W3C traceparent so one request is one trace across servers.
 */
export class Downstream {
  private readonly tokens = new Map<string, { token: string; exp: number }>();

  /** Connected clients per (server, exchanged token): a stateless server still costs a handshake per connect. */
  private readonly clients = new Map<string, Promise<Client>>();

  private readonly config: DownstreamConfig;

  constructor(config: DownstreamConfig) {
    this.config = config;
  }

  private client(url: string, token: string): Promise<Client> {
    const key = `${url}\n${token}`;
    let client = this.clients.get(key);
    if (!client) {
      if (this.clients.size > 500) this.closeAll();
      const c = new Client({ name: "gatehouse-business", version: "0.1.0" });
      // Trace context travels per call in _meta; the connection carries only the credential.
      client = c
        .connect(
          new StreamableHTTPClientTransport(new URL(url), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        )
        .then(() => c);
      client.catch(() => this.clients.delete(key));
      this.clients.set(key, client);
    }
    return client;
  }

  private forget(url: string, token: string): void {
    const key = `${url}\n${token}`;
    void this.clients
      .get(key)
      ?.then((c) => c.close())
      .catch(() => undefined);
    this.clients.delete(key);
  }

  closeAll(): void {
    for (const c of this.clients.values()) void c.then((x) => x.close()).catch(() => undefined);
    this.clients.clear();
  }

  private async exchange(callerToken: string, target: string, signal: AbortSignal): Promise<string> {
    const key = createHash("sha256").update(`${callerToken}\n${target}`).digest("hex");
    const hit = this.tokens.get(key);
    if (hit && hit.exp > Date.now() + 30_000) return hit.token;
    let res: Response;
    try {
      res = await fetch(this.config.tokenEndpoint, {
        method: "POST",
        signal,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.config.clientId)}:${encodeURIComponent(this.config.clientSecret)}`).toString("base64")}`,
        },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: callerToken,
          subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
          resource: target,
        }),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ExchangeFailed(
        `the identity provider is unreachable at ${new URL(this.config.tokenEndpoint).host}`,
      );
    }
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (!res.ok || !body.access_token) {
      throw new ExchangeFailed(
        `token exchange for ${new URL(target).host} failed: ${body.error ?? res.status}${body.error_description ? ` (${body.error_description})` : ""}`,
      );
    }
    if (this.tokens.size > 1000) this.tokens.clear();
    this.tokens.set(key, { token: body.access_token, exp: Date.now() + (body.expires_in ?? 60) * 1000 });
    return body.access_token;
  }

  /**
   * One tool call on one domain server, within the per-call deadline; failures come back as values. The
   * result is parsed through business's own contract for that tool (producer-contracts.ts): a result of
   * another shape is an error, never read as if it fitted.
   */
  async call<S extends DownstreamName, N extends DownstreamTool<S>>(
    ctx: Ctx,
    server: S,
    tool: N,
    args: Record<string, unknown>,
  ): Promise<DownstreamResult<ResultOf<S, N>>> {
    type T = ResultOf<S, N>;
    const contract = PRODUCER_CONTRACTS[server][tool] as z.ZodType<T>;
    if (!ctx.callerToken) throw new ToolError("the business server needs the caller's token to act for them");
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(this.config.timeoutMs)]);
    const url = this.config.urls[server];
    // A client span beside the traceparent sent: the remote call span is parented to this server's call
    // span (as the audit trail records it), not to this client span.
    const span = startDownstreamSpan(server, tool, url);
    const work = (async (): Promise<DownstreamResult<T>> => {
      let token: string;
      try {
        token = await this.exchange(ctx.callerToken!, url, signal);
      } catch (err) {
        return {
          ok: false,
          reason: err instanceof ExchangeFailed ? "token_exchange_failed" : "error",
          message: (err as Error).message,
        };
      }
      let client: Client;
      try {
        client = await this.client(url, token);
      } catch (err) {
        return {
          ok: false,
          reason: signal.aborted ? "timeout" : "error",
          message: `${server}: ${(err as Error).message}`,
        };
      }
      try {
        const result = await client.callTool(
          {
            name: tool,
            arguments: args,
            _meta: { [META_CORRELATION_ID]: ctx.trace.correlationId, traceparent: ctx.trace.traceparent },
          },
          { signal, timeout: this.config.timeoutMs },
        );
        if (result.isError) {
          const text =
            (result.content as Array<{ text?: string }> | undefined)?.map((c) => c.text ?? "").join(" ") ??
            "";
          return { ok: false, reason: unavailableReason(outcomeOf(result)), message: `${server}: ${text}` };
        }
        const parsed = contract.safeParse(result.structuredContent);
        if (!parsed.success) {
          const at = parsed.error.issues[0]?.path.join(".") || "(root)";
          return {
            ok: false,
            reason: "error",
            message: `${server}: ${tool} answered in a shape business does not read (at ${at})`,
          };
        }
        return { ok: true, value: parsed.data };
      } catch (err) {
        // A broken connection is not reused.
        this.forget(url, token);
        throw err;
      }
    })();
    const deadline = new Promise<DownstreamResult<T>>((resolve) => {
      const onAbort = () =>
        resolve({
          ok: false,
          reason: "timeout",
          message: `${server} did not answer within ${this.config.timeoutMs} ms`,
        });
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    const result = await Promise.race([
      work.catch(
        (err: Error): DownstreamResult<T> => ({
          ok: false,
          reason: signal.aborted ? "timeout" : "error",
          message: `${server}: ${err.message}`,
        }),
      ),
      deadline,
    ]);
    span.end(result.ok ? "ok" : result.reason);
    return result;
  }
}

class ExchangeFailed extends Error {}

/**
 * Why a domain server's result is missing, from the outcome it sent as data (never from its wording): a
 * policy or record-policy denial is a refusal, a handler's `not_found` is not found, anything else (a
 * rate limit, a kill switch, a failure, a result with no outcome at all) is an error.
 */
export function unavailableReason(outcome: CallOutcome | undefined): Unavailable {
  if (outcome?.status === "denied" && (outcome.stage === "policy" || outcome.stage === "record_policy"))
    return "refused";
  if (outcome?.status === "failed" && outcome.code === "not_found") return "not_found";
  return "error";
}
