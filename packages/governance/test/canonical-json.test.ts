import { describe, expect, it } from "vitest";
import { canonicalJson, fingerprint, sha256Hex } from "../src/index.ts";

describe("canonical JSON", () => {
  it("gives the same fingerprint whatever the key order, at every level", () => {
    const a = { orderId: "SO-100123", filters: { status: "late", since: "2024-05-01" }, limit: 10 };
    const b = { limit: 10, filters: { since: "2024-05-01", status: "late" }, orderId: "SO-100123" };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(fingerprint(a)).toBe(fingerprint(b));
  });

  it("gives a different fingerprint when any value differs", () => {
    const a = { orderId: "SO-100123", filters: { status: "late" } };
    expect(fingerprint(a)).not.toBe(fingerprint({ orderId: "SO-100123", filters: { status: "open" } }));
    expect(fingerprint(a)).not.toBe(fingerprint({ orderId: "SO-100124", filters: { status: "late" } }));
  });

  it("keeps array order significant", () => {
    expect(fingerprint({ ids: [1, 2] })).not.toBe(fingerprint({ ids: [2, 1] }));
  });

  it("sorts keys inside objects within arrays", () => {
    expect(canonicalJson([{ b: 1, a: 2 }])).toBe('[{"a":2,"b":1}]');
  });

  it("drops undefined properties but keeps nulls", () => {
    expect(canonicalJson({ b: undefined, a: null })).toBe('{"a":null}');
    expect(fingerprint({ a: 1, b: undefined })).toBe(fingerprint({ a: 1 }));
  });

  it("fingerprints the absence of arguments like null", () => {
    expect(fingerprint(undefined)).toBe(fingerprint(null));
    expect(fingerprint(undefined)).toBe(sha256Hex("null"));
  });

  it("is a SHA-256 hex digest", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
