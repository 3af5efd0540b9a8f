import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildCrmSeed, buildOrdersSeed } from "../src/index.ts";
import { buildJiraSeed } from "../src/jira/jira-seed.ts";

/**
 * The seeds are data other tests and the servers' fixtures depend on: any change to them, even by a refactor
 * of the helpers they share (the RNG), must show up here. The hashes were taken before the stand-ins' shared
 * code was folded into src/stand-in/. If a change to a seed is intended, update the hash in the same change.
 */
const fingerprint = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
const NOW = new Date("2026-01-15T12:00:00.000Z");

describe("seed fingerprints", () => {
  it("buildOrdersSeed with a fixed now is byte-for-byte the same", () => {
    expect(fingerprint(buildOrdersSeed({ now: NOW }))).toBe(
      "d9ad6f326910ca375838430bc11ab4556d5e92f2b799e97e7870e6c42c2e679c",
    );
  });

  it("buildOrdersSeed with another seed and size is byte-for-byte the same", () => {
    expect(fingerprint(buildOrdersSeed({ now: NOW, seed: 7, ordersPerTenant: 25 }))).toBe(
      "eaa93387c9388b101f2d9eba7d0c0e566aa84e85f4686b3add8bfcf481dabbd4",
    );
  });

  it("buildCrmSeed is byte-for-byte the same", () => {
    expect(fingerprint(buildCrmSeed())).toBe(
      "22d5405ffde18a30121fd1c5de3ba265f805bb7ac14ae3bc05339b333ed624fb",
    );
  });

  it("buildJiraSeed is byte-for-byte the same", () => {
    expect(fingerprint(buildJiraSeed())).toBe(
      "2d8510225cc872ffb00390ae4fe6ebec3435a43fe25d8657837eb018d9c5d497",
    );
  });
});
