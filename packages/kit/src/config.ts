import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseRateLimit, type RateLimitConfig } from "@gatehouse/governance";
import { defaultDataDir, repoRoot } from "@gatehouse/store";
import { z } from "zod";

const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseRateLimit(text);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    });

const list = z
  .string()
  .optional()
  .transform((s) =>
    s
      ? s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean)
      : [],
  );

/** A Redis URL, or unset ("" counts as unset). The value is never echoed: it may carry a password. */
const redisUrl = z
  .string()
  .optional()
  .transform((s) => s?.trim() || undefined)
  .refine((s) => s === undefined || /^rediss?:\/\/[^/?#]/i.test(s), {
    message: "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379",
  });

const env = z.object({
  GATEHOUSE_ENV: z.enum(["local", "dev", "staging", "production"]).default("dev"),
  GATEHOUSE_HOST: z.string().default("127.0.0.1"),
  GATEHOUSE_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  GATEHOUSE_PUBLIC_URL: z.url().optional(),
  GATEHOUSE_ISSUER: z.url().default("http://127.0.0.1:7100"),
  GATEHOUSE_JWKS_URL: z.url().optional(),
  GATEHOUSE_JWKS_FILE: z.string().optional(),
  GATEHOUSE_DATA_DIR: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: redisUrl,
  GATEHOUSE_ALLOWED_HOSTS: list,
  GATEHOUSE_ALLOWED_ORIGINS: list,
  GATEHOUSE_RATE_LIMIT_USER: rateLimit("120/60s"),
  GATEHOUSE_RATE_LIMIT_TENANT: rateLimit("600/60s"),
  GATEHOUSE_RATE_LIMIT_TOOL: rateLimit("1200/60s"),
  GATEHOUSE_KILLSWITCH_TTL_MS: z.coerce.number().int().min(0).default(1000),
  // At most a second: a revoked person's calls must stop everywhere within 2 s.
  GATEHOUSE_REVOCATION_TTL_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  /** The operator console: a send waiting for approval tells the agent where a person approves it. */
  GATEHOUSE_CONSOLE_URL: z
    .url({ error: "GATEHOUSE_CONSOLE_URL must be an absolute URL (the console's)" })
    .optional(),
  GATEHOUSE_APPROVAL_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3600),
  GATEHOUSE_MAX_RESULT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  GATEHOUSE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  GATEHOUSE_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  GATEHOUSE_AUTH_REFUSAL_INTERVAL_MS: z.coerce.number().int().positive().default(60_000),
  GATEHOUSE_TOKEN: z.string().optional(),
  GATEHOUSE_TOKEN_RENEWAL: z.string().optional(),
  GATEHOUSE_PROFILE: z.string().optional(),
  GATEHOUSE_PROFILES_FILE: z.string().optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export interface KitConfig {
  env: "local" | "dev" | "staging" | "production";
  host: string;
  port: number;
  publicUrl?: string;
  issuer: string;
  jwksUrl: string;
  /** Issuer public keys from a file instead of the JWKS URL: lets a stdio server verify offline. */
  jwksFile?: string;
  dataDir: string;
  databaseUrl?: string;
  /** Rate-limit counters shared by every replica; unset: in process. */
  redisUrl?: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  rateLimits: RateLimitConfig;
  killSwitchTtlMs: number;
  revocationTtlMs: number;
  approvalTtlSeconds: number;
  /** Where people approve sends (the operator console), named in every refusal that waits for one. */
  consoleUrl?: string;
  maxResultBytes: number;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Refused HTTP requests past the first few per source and interval are counted into one audit event per interval. */
  authRefusalIntervalMs: number;
  token?: string;
  /** How the person gets a new stdio token: added to every refusal of GATEHOUSE_TOKEN (e.g. when it expires). */
  tokenRenewal?: string;
  profile?: string;
  profilesFile: string;
  logLevel: string;
}

/** Reads and validates the environment once at start-up; a bad variable stops the server with its name. */
export function loadKitConfig(defaultPort: number, source: NodeJS.ProcessEnv = process.env): KitConfig {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  const dataDir = e.GATEHOUSE_DATA_DIR ?? defaultDataDir();
  // The issuer is compared with each token's `iss` exactly, so it is kept as configured (many identity
  // providers end it with "/"); only URLs derived from it drop the slash.
  const issuer = e.GATEHOUSE_ISSUER;
  return {
    env: e.GATEHOUSE_ENV,
    host: e.GATEHOUSE_HOST,
    port: e.GATEHOUSE_PORT ?? defaultPort,
    publicUrl: e.GATEHOUSE_PUBLIC_URL,
    issuer,
    jwksUrl: e.GATEHOUSE_JWKS_URL ?? `${issuer.replace(/\/$/, "")}/jwks.json`,
    jwksFile: e.GATEHOUSE_JWKS_FILE,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    allowedHosts: e.GATEHOUSE_ALLOWED_HOSTS,
    allowedOrigins: e.GATEHOUSE_ALLOWED_ORIGINS,
    rateLimits: {
      perUser: e.GATEHOUSE_RATE_LIMIT_USER,
      perTenant: e.GATEHOUSE_RATE_LIMIT_TENANT,
      perTool: e.GATEHOUSE_RATE_LIMIT_TOOL,
    },
    killSwitchTtlMs: e.GATEHOUSE_KILLSWITCH_TTL_MS,
    revocationTtlMs: e.GATEHOUSE_REVOCATION_TTL_MS,
    approvalTtlSeconds: e.GATEHOUSE_APPROVAL_TTL_SECONDS,
    consoleUrl: e.GATEHOUSE_CONSOLE_URL?.replace(/\/$/, ""),
    maxResultBytes: e.GATEHOUSE_MAX_RESULT_BYTES,
    maxBodyBytes: e.GATEHOUSE_MAX_BODY_BYTES,
    requestTimeoutMs: e.GATEHOUSE_REQUEST_TIMEOUT_MS,
    authRefusalIntervalMs: e.GATEHOUSE_AUTH_REFUSAL_INTERVAL_MS,
    token: e.GATEHOUSE_TOKEN,
    tokenRenewal: e.GATEHOUSE_TOKEN_RENEWAL,
    profile: e.GATEHOUSE_PROFILE,
    profilesFile: e.GATEHOUSE_PROFILES_FILE ?? defaultProfilesFile(),
    logLevel: e.LOG_LEVEL,
  };
}

function defaultProfilesFile(): string {
  const candidate = join(repoRoot(), "packages", "sandbox", "identities.json");
  return existsSync(candidate) ? candidate : "identities.json";
}
