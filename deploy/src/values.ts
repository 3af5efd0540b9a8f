import { isIP } from "node:net";
import { z } from "zod";

/*
 * The values a deployment is rendered from: the single source of what may be configured. Every object is
 * strict, so a misspelt key is an error naming its path instead of a setting silently ignored. There is no
 * field that takes a secret's value: credentials are referenced by Secret name and key only.
 */

const labels = z.record(z.string().min(1), z.string());

const cidr = z.string().refine(
  (s) => {
    const [ip, bits, ...rest] = s.split("/");
    const family = isIP(ip ?? "");
    const n = Number(bits);
    return (
      rest.length === 0 && family !== 0 && Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128)
    );
  },
  { message: "must be a CIDR such as 10.20.0.0/16 or 203.0.113.7/32" },
);

const port = z.number().int().min(1).max(65535);

/**
 * Where a server may connect to (or be reached from): IP blocks and/or pods picked by labels. Empty means
 * nobody: NetworkPolicies deny whatever no peer names.
 */
export const peer = z
  .object({
    cidrs: z.array(cidr).default([]),
    /** Pods in namespaces with these labels (all namespaces if only podSelector is given: {} here). */
    namespaceSelector: labels.optional(),
    podSelector: labels.optional(),
    ports: z.array(port).min(1),
  })
  .strict()
  // A rule without destinations would mean "anywhere" to Kubernetes: never render one.
  .refine((p) => p.cidrs.length > 0 || p.namespaceSelector || p.podSelector, {
    message:
      "names no destination: give cidrs, namespaceSelector or podSelector (an empty peer would allow everything)",
  });
export type Peer = z.infer<typeof peer>;

/** A key of an existing Secret: the only way a credential enters the manifests. */
export const secretRef = z
  .object({
    secretName: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Secret name"),
    key: z.string().regex(/^[-._a-zA-Z0-9]+$/, "must be a key of the Secret's data"),
  })
  .strict();
export type SecretRef = z.infer<typeof secretRef>;

const quantity = z.union([
  z.string().regex(/^[0-9.]+[a-zA-Z]*$/, "must be a Kubernetes quantity"),
  z.number(),
]);
const resources = z
  .object({
    requests: z.object({ cpu: quantity, memory: quantity }).strict(),
    limits: z.object({ cpu: quantity.optional(), memory: quantity }).strict(),
  })
  .strict();

/** Variables that carry credentials: they may only come from a Secret, never from extraEnv. */
export const SECRET_VARIABLES = [
  "DATABASE_URL",
  "REDIS_URL",
  "ORDERS_DATABASE_URL",
  "HUBSPOT_ACCESS_TOKEN",
  "JIRA_EMAIL",
  "JIRA_API_TOKEN",
  "BUSINESS_CLIENT_SECRET",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "GATEHOUSE_TOKEN",
] as const;

const extraEnv = z
  .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name"), z.string())
  .superRefine((env, ctx) => {
    for (const [name, value] of Object.entries(env)) {
      if ((SECRET_VARIABLES as readonly string[]).includes(name))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} carries a credential: set it through its secretRef, not extraEnv`,
        });
      if (/(SECRET|PASSWORD|API_KEY|_TOKEN$)/.test(name))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} looks like a credential: reference a Secret instead of an inline value`,
        });
      if (/:\/\/[^/\s:@]+:[^/\s@]+@/.test(value))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "holds a URL with a password: reference a Secret instead",
        });
    }
  });

/** What each server may be given beyond the shared settings; `defaults` fills what a server leaves out. */
const serverSettings = z
  .object({
    enabled: z.boolean().optional(),
    replicas: z.number().int().min(1).optional(),
    autoscaling: z
      .object({
        enabled: z.boolean(),
        minReplicas: z.number().int().min(1),
        maxReplicas: z.number().int().min(1),
        targetCPUUtilizationPercentage: z.number().int().min(1).max(100),
      })
      .strict()
      .refine((a) => a.maxReplicas >= a.minReplicas, { message: "maxReplicas must be at least minReplicas" })
      .optional(),
    podDisruptionBudget: z
      .object({ enabled: z.boolean(), maxUnavailable: z.number().int().min(1) })
      .strict()
      .optional(),
    resources: resources.optional(),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).optional(),
    extraEnv: extraEnv.optional(),
  })
  .strict();
export type ServerSettings = z.infer<typeof serverSettings>;

export const values = z
  .object({
    /** Prefix of every object's name, and the app.kubernetes.io/instance label. */
    release: z
      .string()
      .regex(/^[a-z]([-a-z0-9]{0,20}[a-z0-9])?$/, "must be a short DNS label (at most 22 characters)"),
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a namespace name"),
    image: z
      .object({
        repository: z.string().min(1),
        tag: z.string().regex(/^[\w][\w.-]{0,127}$/, "must be an image tag"),
        /** Pin by digest in production: sha256:… */
        digest: z
          .string()
          .regex(/^sha256:[a-f0-9]{64}$/, "must be sha256:<64 hex digits>")
          .optional(),
        pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]),
      })
      .strict(),
    /** GATEHOUSE_ENV: recorded in every audit event. */
    environment: z.enum(["dev", "staging", "production"]),
    /**
     * The URL agents reach the servers at, through the front door (tunnel, ingress or gateway). Each server's
     * GATEHOUSE_PUBLIC_URL — its token audience — is <publicBaseUrl>/<server>/mcp.
     */
    publicBaseUrl: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !u.endsWith("/"), { message: "must not end with /" }),
    issuer: z
      .object({
        url: z.url(),
        jwksUrl: z.url().optional(),
        /** RFC 8693 exchange for business (default <issuer>/token). */
        tokenEndpoint: z.url().optional(),
        egress: peer,
      })
      .strict(),
    store: z.object({ databaseUrl: secretRef, egress: peer }).strict(),
    redis: z
      .object({ enabled: z.boolean(), url: secretRef.optional(), egress: peer.optional() })
      .strict()
      .refine((r) => !r.enabled || (r.url && r.egress), { message: "enabled Redis needs url and egress" }),
    otel: z
      .object({
        enabled: z.boolean(),
        /** OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://otel-collector.observability:4318 */
        endpoint: z.url().optional(),
        headers: secretRef.optional(),
        resourceAttributes: z.string().optional(),
        egress: peer.optional(),
      })
      .strict()
      .refine((o) => !o.enabled || (o.endpoint && o.egress), {
        message: "enabled OpenTelemetry needs endpoint and egress",
      }),
    /**
     * An Ingress routing the servers' public paths (off: your gateway or tunnel routes them). Its controller's
     * pods are what frontDoor must select.
     */
    ingress: z
      .object({
        enabled: z.boolean(),
        className: z.string().min(1).optional(),
        /** A kubernetes.io/tls Secret for publicBaseUrl's host; without it the controller's default applies. */
        tlsSecretName: z.string().min(1).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    /** Who may open connections to the servers: the front door (ingress controller, tunnel agent, gateway). */
    frontDoor: z
      .object({
        cidrs: z.array(cidr).default([]),
        namespaceSelector: labels.optional(),
        podSelector: labels.optional(),
      })
      .strict()
      .refine((p) => p.cidrs.length > 0 || p.namespaceSelector || p.podSelector, {
        message:
          "names no source: give cidrs, namespaceSelector or podSelector (an empty peer would admit everyone)",
      }),
    dns: peer,
    /** The systems the servers' package.json "gatehouse.systems" name, each reachable only by its servers. */
    systems: z
      .object({
        orders: z
          .object({
            databaseUrl: secretRef,
            poolMax: z.number().int().min(1).max(100).optional(),
            statementTimeoutMs: z.number().int().min(100).max(600_000).optional(),
            egress: peer,
          })
          .strict(),
        hubspot: z.object({ baseUrl: z.url().optional(), accessToken: secretRef, egress: peer }).strict(),
        jira: z
          .object({
            baseUrl: z.url(),
            email: secretRef,
            apiToken: secretRef,
            /** TICKETS_PROJECTS: tenant=KEY1,KEY2;tenant2=KEY3 */
            projects: z
              .string()
              .regex(
                /^[a-z0-9_-]+=[A-Z][A-Z0-9_]*(,[A-Z][A-Z0-9_]*)*(;[a-z0-9_-]+=[A-Z][A-Z0-9_]*(,[A-Z][A-Z0-9_]*)*)*$/,
                "must look like emea=SUP;na=NAS",
              ),
            egress: peer,
          })
          .strict(),
        exchange: z
          .object({
            clientId: z.string().min(1),
            clientSecret: secretRef,
            downstreamTimeoutMs: z.number().int().min(100).optional(),
            /**
             * business calls the other servers at their public URLs (they are the tokens' audience), so it
             * must reach the front door: where publicBaseUrl's host resolves from inside the cluster.
             */
            frontDoorEgress: peer,
          })
          .strict(),
      })
      .strict(),
    defaults: serverSettings.required({
      replicas: true,
      autoscaling: true,
      podDisruptionBudget: true,
      resources: true,
      logLevel: true,
    }),
    servers: z
      .object({
        "order-lookup": serverSettings,
        "crm-read": serverSettings,
        "ticket-draft": serverSettings,
        "ticket-send": serverSettings,
        business: serverSettings,
        /**
         * RESERVED for the operator console (packages/console), which has no container entry point yet:
         * it stays disabled, and enabling it is refused with a message rather than rendering a guess.
         */
        console: z
          .object({
            enabled: z.literal(false, {
              message:
                "the console cannot be deployed yet: it has no entry point in the image; leave console.enabled false",
            }),
          })
          .strict(),
      })
      .strict(),
    migrations: z
      .object({
        enabled: z.boolean(),
        backoffLimit: z.number().int().min(0).max(10),
        activeDeadlineSeconds: z.number().int().min(30),
        ttlSecondsAfterFinished: z.number().int().min(0),
      })
      .strict(),
  })
  .strict();

export type Values = z.infer<typeof values>;
export type ServerName = Exclude<keyof Values["servers"], "console">;
