import { describe, expect, it } from "vitest";
import { loadKitConfig } from "../src/config.ts";

describe("kit configuration", () => {
  it("keeps the issuer exactly as configured (tokens' iss is compared verbatim) and derives the JWKS URL", () => {
    const c = loadKitConfig(7101, { GATEHOUSE_ISSUER: "https://id.example.com/realms/acme/" });
    expect(c.issuer).toBe("https://id.example.com/realms/acme/");
    expect(c.jwksUrl).toBe("https://id.example.com/realms/acme/jwks.json");
  });

  it("stops with the name of a bad variable", () => {
    expect(() => loadKitConfig(7101, { GATEHOUSE_RATE_LIMIT_USER: "lots" })).toThrow(
      /GATEHOUSE_RATE_LIMIT_USER: bad rate limit "lots"/,
    );
    expect(() => loadKitConfig(7101, { GATEHOUSE_PORT: "seventy" })).toThrow(/GATEHOUSE_PORT/);
  });
});
