import { type ToolContext, Upstream, type UpstreamConfig } from "@gatehouse/kit";
import { Client } from "@hubspot/api-client";

/** What @hubspot/api-client throws for an HTTP error (each API module has its own ApiException class). */
interface HubSpotHttpError {
  code?: unknown;
  body?: { policyName?: unknown };
  headers?: Record<string, string>;
}

const asHttp = (err: unknown): HubSpotHttpError =>
  err && typeof err === "object" ? (err as HubSpotHttpError) : {};

/** HubSpot through its official client, behind the kit's timeouts, retries and circuit breaker. */
export class HubSpotGateway {
  readonly client: Client;
  private readonly upstream: Upstream;

  constructor(config: UpstreamConfig & { baseUrl: string; accessToken: string }) {
    // The client's own retries are off: the gateway owns the retry budget, so attempts are counted.
    this.client = new Client({
      accessToken: config.accessToken,
      basePath: config.baseUrl,
      numberOfApiCallRetries: 0,
    });
    this.upstream = new Upstream("HubSpot", config, {
      status: (err) => {
        const code = asHttp(err).code;
        return typeof code === "number" && code >= 100 ? code : undefined;
      },
      retryAfterMs: (err) => {
        const seconds = Number(asHttp(err).headers?.["retry-after"]);
        return Number.isFinite(seconds) ? seconds * 1000 : 0;
      },
      rateLimitLabel: (err) => {
        const name = asHttp(err).body?.policyName;
        return typeof name === "string" ? name : undefined;
      },
    });
  }

  call<T>(
    ctx: Pick<ToolContext<unknown>, "annotate" | "signal">,
    operation: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.upstream.call(ctx, operation, fn);
  }
}
