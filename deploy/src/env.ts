import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { ServerFacts } from "./servers.ts";
import type { SecretRef, ServerSettings, Values } from "./values.ts";

const plain = (name: string, value: string | number): IEnvVar => ({ name, value: String(value) });
const fromSecret = (name: string, ref: SecretRef): IEnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } },
});

/** A server's resource URL: its token audience, the path it answers MCP on, and what business calls. */
export const publicUrl = (v: Values, server: string) => `${v.publicBaseUrl}/${server}/mcp`;

/** Settings every server reads through the kit (packages/kit/src/config.ts) and its telemetry setup. */
function kitEnv(v: Values, facts: ServerFacts, logLevel: string): IEnvVar[] {
  const env: IEnvVar[] = [
    plain("GATEHOUSE_ENV", v.environment),
    // Inside a pod the NetworkPolicy, not the bind address, is the boundary: the Service and probes need it.
    plain("GATEHOUSE_HOST", "0.0.0.0"),
    plain("GATEHOUSE_PORT", facts.port),
    plain("GATEHOUSE_PUBLIC_URL", publicUrl(v, facts.name)),
    plain("GATEHOUSE_ISSUER", v.issuer.url),
    ...(v.issuer.jwksUrl ? [plain("GATEHOUSE_JWKS_URL", v.issuer.jwksUrl)] : []),
    // Nothing is kept on disk with PostgreSQL; the kit still wants a writable data directory.
    plain("GATEHOUSE_DATA_DIR", "/tmp/gatehouse"),
    plain("LOG_LEVEL", logLevel),
    fromSecret("DATABASE_URL", v.store.databaseUrl),
  ];
  if (v.redis.enabled && v.redis.url) env.push(fromSecret("REDIS_URL", v.redis.url));
  if (v.otel.enabled && v.otel.endpoint) {
    env.push(plain("OTEL_EXPORTER_OTLP_ENDPOINT", v.otel.endpoint));
    if (v.otel.headers) env.push(fromSecret("OTEL_EXPORTER_OTLP_HEADERS", v.otel.headers));
    if (v.otel.resourceAttributes) env.push(plain("OTEL_RESOURCE_ATTRIBUTES", v.otel.resourceAttributes));
  }
  return env;
}

/** The variables of the systems a server declares, and nothing of the others' (each holds only its own). */
function systemEnv(v: Values, facts: ServerFacts): IEnvVar[] {
  const s = v.systems;
  return facts.systems.flatMap((system): IEnvVar[] => {
    switch (system) {
      case "orders":
        return [
          fromSecret("ORDERS_DATABASE_URL", s.orders.databaseUrl),
          ...(s.orders.poolMax ? [plain("ORDERS_DB_POOL_MAX", s.orders.poolMax)] : []),
          ...(s.orders.statementTimeoutMs
            ? [plain("ORDERS_DB_STATEMENT_TIMEOUT_MS", s.orders.statementTimeoutMs)]
            : []),
        ];
      case "hubspot":
        return [
          fromSecret("HUBSPOT_ACCESS_TOKEN", s.hubspot.accessToken),
          ...(s.hubspot.baseUrl ? [plain("HUBSPOT_BASE_URL", s.hubspot.baseUrl)] : []),
        ];
      case "jira":
        return [
          plain("JIRA_BASE_URL", s.jira.baseUrl),
          fromSecret("JIRA_EMAIL", s.jira.email),
          fromSecret("JIRA_API_TOKEN", s.jira.apiToken),
          plain("TICKETS_PROJECTS", s.jira.projects),
        ];
      default: {
        // "exchange". The prefix is the exchanging server's name, as `gatehouse start` sets it (BUSINESS_*).
        const prefix = facts.name.toUpperCase().replace(/-/g, "_");
        return [
          plain(`${prefix}_ORDER_LOOKUP_URL`, publicUrl(v, "order-lookup")),
          plain(`${prefix}_CRM_READ_URL`, publicUrl(v, "crm-read")),
          plain(`${prefix}_TICKET_DRAFT_URL`, publicUrl(v, "ticket-draft")),
          ...(v.issuer.tokenEndpoint ? [plain(`${prefix}_TOKEN_ENDPOINT`, v.issuer.tokenEndpoint)] : []),
          plain(`${prefix}_CLIENT_ID`, s.exchange.clientId),
          fromSecret(`${prefix}_CLIENT_SECRET`, s.exchange.clientSecret),
          ...(s.exchange.downstreamTimeoutMs
            ? [plain(`${prefix}_DOWNSTREAM_TIMEOUT_MS`, s.exchange.downstreamTimeoutMs)]
            : []),
        ];
      }
    }
  });
}

/** Every variable of one server's container; extraEnv last, and never a credential (values.ts refuses those). */
export function serverEnv(
  v: Values,
  facts: ServerFacts,
  settings: ServerSettings & { logLevel: string },
): IEnvVar[] {
  const env = [...kitEnv(v, facts, settings.logLevel), ...systemEnv(v, facts)];
  const taken = new Set(env.map((e) => e.name));
  for (const [name, value] of Object.entries(settings.extraEnv ?? {})) {
    if (taken.has(name))
      throw new Error(`servers.${facts.name}.extraEnv.${name}: already set from the values; change it there`);
    env.push(plain(name, value));
  }
  return env;
}
