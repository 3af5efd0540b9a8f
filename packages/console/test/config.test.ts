import { describe, expect, it } from "vitest";
import { consoleConfigFromEnv } from "../src/config.ts";

const base = {
  CONSOLE_EXCHANGE_CLIENT_SECRET: "0123456789abcdef0123",
  CONSOLE_TICKET_SEND_URL: "http://127.0.0.1:7104/mcp",
};

describe("the console's configuration", () => {
  it("defaults to loopback on 7130 and the sandbox issuer", () => {
    expect(consoleConfigFromEnv(base)).toMatchObject({
      host: "127.0.0.1",
      port: 7130,
      issuer: "http://127.0.0.1:7100",
      exchangeClient: { id: "console" },
    });
  });

  it("names every missing or bad variable", () => {
    expect(() => consoleConfigFromEnv({ CONSOLE_PORT: "seventy" })).toThrow(
      /CONSOLE_PORT must be a port number.*CONSOLE_EXCHANGE_CLIENT_SECRET is not set.*CONSOLE_TICKET_SEND_URL is not set/,
    );
    expect(() => consoleConfigFromEnv({ ...base, GATEHOUSE_ISSUER: "issuer" })).toThrow(
      "GATEHOUSE_ISSUER must be an absolute URL",
    );
    expect(() => consoleConfigFromEnv({ ...base, CONSOLE_COOKIE_SECRET: "short" })).toThrow(
      "CONSOLE_COOKIE_SECRET must be at least 32 characters",
    );
  });
});
