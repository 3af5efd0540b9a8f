import { type ToolContext, Upstream, type UpstreamCallOptions, upstreamConfigFromEnv } from "@gatehouse/kit";
import { Version3Client } from "jira.js";
import { z } from "zod";

/** What jira.js throws: an HttpException with the status and Jira's error body; headers on its cause. */
interface JiraHttpError {
  status?: unknown;
  response?: unknown;
  cause?: { response?: { headers?: Record<string, unknown> } };
}

const asHttp = (err: unknown): JiraHttpError =>
  err && typeof err === "object" ? (err as JiraHttpError) : {};

const env = z.object({
  JIRA_BASE_URL: z.url({
    error:
      "JIRA_BASE_URL must be your Jira site, e.g. https://example.atlassian.net (gatehouse start passes the sandbox's)",
  }),
  JIRA_EMAIL: z.string({ error: "JIRA_EMAIL is not set (the account the API token belongs to)" }).min(3),
  JIRA_API_TOKEN: z.string({ error: "JIRA_API_TOKEN is not set" }).min(8),
  /** Which Jira projects each tenant files into: `emea=SUP;na=NAS`. */
  TICKETS_PROJECTS: z.string().default("emea=SUP;na=NAS"),
});

export interface JiraSettings {
  projectsByTenant: Map<string, string[]>;
}

/** Jira through jira.js, behind the kit's timeouts, retries and circuit breaker. */
export class JiraGateway {
  readonly client: Version3Client;
  readonly settings: JiraSettings;
  private readonly upstream: Upstream;

  constructor(source: NodeJS.ProcessEnv) {
    const parsed = env.safeParse(source);
    if (!parsed.success) {
      throw new Error(
        `invalid Jira configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`,
      );
    }
    const e = parsed.data;
    this.client = new Version3Client({
      host: e.JIRA_BASE_URL,
      authentication: { basic: { email: e.JIRA_EMAIL, apiToken: e.JIRA_API_TOKEN } },
    });
    this.settings = { projectsByTenant: parseProjects(e.TICKETS_PROJECTS) };
    this.upstream = new Upstream("Jira", upstreamConfigFromEnv("JIRA", source), {
      status: (err) => {
        const s = asHttp(err).status;
        return typeof s === "number" && s >= 100 ? s : undefined;
      },
      retryAfterMs: (err) => {
        const seconds = Number(asHttp(err).cause?.response?.headers?.["retry-after"]);
        return Number.isFinite(seconds) ? seconds * 1000 : 0;
      },
    });
  }

  call<T>(
    ctx: Pick<ToolContext<unknown>, "annotate" | "signal">,
    operation: string,
    fn: (client: Version3Client, signal: AbortSignal) => Promise<T>,
    opts?: UpstreamCallOptions,
  ): Promise<T> {
    return this.upstream.call(ctx, operation, (signal) => fn(this.client, signal), opts);
  }

  projectsOf(tenant: string, roles: string[]): string[] {
    if (roles.includes("admin"))
      return [...new Set([...this.settings.projectsByTenant.values()].flat())].sort();
    return this.settings.projectsByTenant.get(tenant) ?? [];
  }

  tenantOfProject(project: string): string | undefined {
    for (const [tenant, projects] of this.settings.projectsByTenant)
      if (projects.includes(project)) return tenant;
    return undefined;
  }
}

function parseProjects(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of text
    .split(";")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]*)=([A-Z][A-Z0-9]*(?:,[A-Z][A-Z0-9]*)*)$/.exec(part);
    if (!m) throw new Error(`TICKETS_PROJECTS: "${part}" must look like tenant=KEY1,KEY2`);
    map.set(m[1]!, m[2]!.split(","));
  }
  return map;
}
