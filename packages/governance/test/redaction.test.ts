import { describe, expect, it } from "vitest";
import { type RedactionCounter, redactString, redactValue } from "../src/index.ts";

const noPii = { allowPii: false };
const withPii = { allowPii: true };

function redact(text: string, opts = noPii): { out: string; count: number } {
  const counter: RedactionCounter = { count: 0 };
  return { out: redactString(text, opts, counter), count: counter.count };
}

describe("redaction of personal contact data", () => {
  it("redacts email addresses for a caller without PII permission", () => {
    expect(redact("write to jane.doe+orders@example.co.uk today")).toEqual({
      out: "write to [redacted:email] today",
      count: 1,
    });
  });

  it.each([
    ["+49 30 1234567"],
    ["+49-151-2345-6789"],
    ["+4915123456789"],
    ["+1 (555) 123-4567"],
    ["+1 555 123 4567"],
    ["+1.555.123.4567"],
    ["(030) 1234567"],
  ])("redacts the international or bracketed phone number %s without PII permission", (phone) => {
    expect(redact(`call ${phone} after 5`)).toEqual({ out: "call [redacted:phone] after 5", count: 1 });
  });

  it("keeps emails and phone numbers for a caller with PII permission", () => {
    const text = "jane.doe@example.com, +49 30 1234567, +1 (555) 123-4567";
    expect(redact(text, withPii)).toEqual({ out: text, count: 0 });
  });
});

describe("things that look numeric but are not personal data", () => {
  it.each([
    ["an ISO date", "shipped 2024-05-01"],
    ["an ISO timestamp with zone offset", "at 2024-05-01T10:00:00+02:00"],
    ["a UTC timestamp", "at 2024-05-01T10:00:00.123Z"],
    ["an amount in cents", "total 4575687 cents"],
    ["a decimal amount", "total 45756.87 EUR"],
    ["an order id", "order SO-100123"],
    ["several order ids", "orders SO-100123, SO-100124 and SO-100125"],
    ["an order with date and amount", "SO-100123 on 2024-05-01 for 4575687"],
    ["a Luhn-invalid 16-digit number", "reference 4111111111111112"],
    ["a Luhn-invalid grouped 16-digit number", "reference 4111 1111 1111 1112"],
    ["a Luhn-valid 12-digit number (too short for a card)", "ref 000000000000"],
  ])("never redacts %s", (_what, text) => {
    expect(redact(text)).toEqual({ out: text, count: 0 });
  });
});

describe("redaction of card numbers and secrets (always, whatever the caller may see)", () => {
  it.each([
    ["4111111111111111"],
    ["4111 1111 1111 1111"],
    ["4111-1111-1111-1111"],
    ["5500 0055 5555 5559"],
    ["378282246310005"],
  ])("redacts the Luhn-valid card number %s even with PII permission", (card) => {
    expect(redact(`paid with ${card}.`, withPii)).toEqual({ out: "paid with [redacted:card].", count: 1 });
  });

  it.each([
    [
      "a JWT",
      "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsInRlbmFudCI6ImVtZWEifQ.c2lnbmF0dXJlLXNpZw",
    ],
    ["a bearer credential", "Bearer abcDEF123456._~+/="],
    ["a lower-case bearer credential", "bearer 0123456789abcdef"],
    ["a live payment key", "sk_live_51HabcdefGHIJKLmnop"],
    ["a test payment key", "pk_test_abcdefgh1234"],
    ["an AWS access key id", "AKIAIOSFODNN7EXAMPLE"],
    ["a GitHub token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"],
    ["a HubSpot private-app token", "pat-na1-11111111-2222-3333-4444-555555555555"],
    [
      "a PKCS#8 private key block",
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    ],
    [
      "an EC private key block",
      "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1\n-----END EC PRIVATE KEY-----",
    ],
  ])("redacts %s even with PII permission", (_what, secret) => {
    expect(redact(`before ${secret} after`, withPii)).toEqual({
      out: "before [redacted:secret] after",
      count: 1,
    });
  });

  it("redacts the whole private key block, leaving no key material behind", () => {
    const { out } = redact(
      "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nmore-key-material\n-----END RSA PRIVATE KEY-----\ndone",
      withPii,
    );
    expect(out).toBe("key:\n[redacted:secret]\ndone");
  });

  it("counts every redaction in one string", () => {
    const { out, count } = redact("jane@example.com, +49 30 1234567, 4111111111111111, sk_live_abcdefgh1234");
    expect(out).toBe("[redacted:email], [redacted:phone], [redacted:card], [redacted:secret]");
    expect(count).toBe(4);
  });
});

describe("redaction of structured values by key name", () => {
  it("redacts values of contact-data keys whatever they look like, without PII permission", () => {
    const counter: RedactionCounter = { count: 0 };
    const out = redactValue(
      {
        email: "not-an-address",
        customer_email: "x",
        emailAddress: "y",
        phone: "030 1234567",
        mobile: ["0151 234", "0171 987"],
        fax: "12",
        name: "Jane",
      },
      noPii,
      counter,
    );
    expect(out).toEqual({
      email: "[redacted:pii]",
      customer_email: "[redacted:pii]",
      emailAddress: "[redacted:pii]",
      phone: "[redacted:pii]",
      mobile: ["[redacted:pii]", "[redacted:pii]"],
      fax: "[redacted:pii]",
      name: "Jane",
    });
    expect(counter.count).toBe(7);
  });

  it("keeps contact-data keys for a caller with PII permission", () => {
    const value = { email: "jane@example.com", phone: "030 1234567" };
    expect(redactValue(value, withPii, { count: 0 })).toEqual(value);
  });

  it("redacts credential keys for every caller", () => {
    const out = redactValue(
      {
        password: "hunter2",
        token: "abc",
        api_key: "k-1",
        apiKey: "k-2",
        client_secret: "s",
        refresh_token: "r",
        authorization: "Basic Zm9vOmJhcg==",
        private_key: "pk",
        tokenizer: "keeps",
      },
      withPii,
      { count: 0 },
    );
    expect(out).toEqual({
      password: "[redacted:secret]",
      token: "[redacted:secret]",
      api_key: "[redacted:secret]",
      apiKey: "[redacted:secret]",
      client_secret: "[redacted:secret]",
      refresh_token: "[redacted:secret]",
      authorization: "[redacted:secret]",
      private_key: "[redacted:secret]",
      tokenizer: "keeps",
    });
  });

  it("applies the patterns inside nested objects and arrays and leaves other types alone", () => {
    const out = redactValue(
      {
        order: {
          id: "SO-100123",
          notes: ["ring jane@example.com", "card 4111111111111111"],
          total: 4575687,
          paid: true,
        },
      },
      noPii,
      { count: 0 },
    );
    expect(out).toEqual({
      order: {
        id: "SO-100123",
        notes: ["ring [redacted:email]", "card [redacted:card]"],
        total: 4575687,
        paid: true,
      },
    });
  });

  it("does not modify the value it was given", () => {
    const value = { email: "jane@example.com", nested: { password: "hunter2" } };
    redactValue(value, noPii, { count: 0 });
    expect(value).toEqual({ email: "jane@example.com", nested: { password: "hunter2" } });
  });
});
