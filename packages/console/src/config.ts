import { z } from "zod";

/** Loopback by default; the console's sandbox port sits in the sandbox's own 7100-7199 range. */
export const DEFAULT_CONSOLE_PORT = 7130;

const url = (name: string) =>
  z.url({
    error: (i) =>
      i.input === undefined
        ? `${name} is not set`
        : `${name} must be an absolute URL (http://… or https://…)`,
  });

const schema = z.object({
  CONSOLE_HOST: z.string().min(1).default("127.0.0.1"),
  CONSOLE_PORT: z.coerce
    .number({ error: "CONSOLE_PORT must be a port number (0-65535)" })
    .int("CONSOLE_PORT must be a port number (0-65535)")
    .min(0)
    .max(65535)
    .default(DEFAULT_CONSOLE_PORT),
  /** The URL people open (behind a proxy, the public one): the OAuth redirect and the token audience derive from it. */
  CONSOLE_PUBLIC_URL: url("CONSOLE_PUBLIC_URL").optional(),
  GATEHOUSE_ISSUER: url("GATEHOUSE_ISSUER").default("http://127.0.0.1:7100"),
  /** A client registered at the identity provider; without it the console registers itself (RFC 7591). */
  CONSOLE_CLIENT_ID: z.string().min(1).optional(),
  CONSOLE_CLIENT_SECRET: z.string().min(1).optional(),
  /** The confidential client that exchanges a person's console token for a ticket-send token (RFC 8693). */
  CONSOLE_EXCHANGE_CLIENT_ID: z.string().min(1).default("console"),
  CONSOLE_EXCHANGE_CLIENT_SECRET: z
    .string({
      error: "CONSOLE_EXCHANGE_CLIENT_SECRET is not set (the console's secret at the identity provider)",
    })
    .min(16, "CONSOLE_EXCHANGE_CLIENT_SECRET must be at least 16 characters"),
  /** ticket-send's resource URL: approvals are decided on its endpoint, under the person's identity. */
  CONSOLE_TICKET_SEND_URL: url("CONSOLE_TICKET_SEND_URL"),
  /** Signs the session and sign-in cookies; random per start when unset (everyone signs in again). */
  CONSOLE_COOKIE_SECRET: z
    .string()
    .min(32, "CONSOLE_COOKIE_SECRET must be at least 32 characters")
    .optional(),
});

export interface ConsoleConfig {
  host: string;
  port: number;
  publicUrl?: string;
  issuer: string;
  client?: { id: string; secret?: string };
  exchangeClient: { id: string; secret: string };
  ticketSendUrl: string;
  cookieSecret?: string;
}

/** The console's settings from the environment; a bad or missing value throws naming the variable. */
export function consoleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new Error(
      `console configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const e = parsed.data;
  return {
    host: e.CONSOLE_HOST,
    port: e.CONSOLE_PORT,
    publicUrl: e.CONSOLE_PUBLIC_URL,
    issuer: e.GATEHOUSE_ISSUER.replace(/\/$/, ""),
    client: e.CONSOLE_CLIENT_ID ? { id: e.CONSOLE_CLIENT_ID, secret: e.CONSOLE_CLIENT_SECRET } : undefined,
    exchangeClient: { id: e.CONSOLE_EXCHANGE_CLIENT_ID, secret: e.CONSOLE_EXCHANGE_CLIENT_SECRET },
    ticketSendUrl: e.CONSOLE_TICKET_SEND_URL,
    cookieSecret: e.CONSOLE_COOKIE_SECRET,
  };
}
