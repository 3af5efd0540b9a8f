import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = join(import.meta.dirname, "..", "src", "main.ts");
const DAY = 86_400;

/** The real `gatehouse keys …`, as an operator runs it, on its own data directory. */
const gatehouse = (dataDir: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, "keys", ...args], {
    env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const publishedKids = (dataDir: string) =>
  (
    JSON.parse(readFileSync(join(dataDir, "issuer", "jwks.json"), "utf8")) as {
      keys: Array<{ kid: string; d?: string }>;
    }
  ).keys;

describe("gatehouse keys", () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), "gatehouse-keys-cli-"));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("rotate publishes a new key now, signs with it after the lead, and keeps the old key a day and 30 s past the switch", async () => {
    const dir = dataDir();
    const first = gatehouse(dir, "list");
    expect(first.status, first.stderr).toBe(0);
    const oldKid = /signing\s+(\S+)/.exec(first.stdout)?.[1];
    expect(oldKid).toBeTruthy();
    expect(first.stdout).toContain(`tokens live at most ${DAY} s`);
    expect(statSync(join(dir, "issuer", "keys.json")).mode & 0o777).toBe(0o600);

    const before = Date.now();
    const rotated = gatehouse(dir, "rotate", "--lead", "120");
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).not.toContain("warning");
    const newKid = /published (\S+);/.exec(rotated.stdout)?.[1];
    const signsFrom = Date.parse(/signs from (\S+)/.exec(rotated.stdout)![1]!);
    const retiresAt = Date.parse(/published until (\S+)/.exec(rotated.stdout)![1]!);
    expect(newKid).toBeTruthy();
    expect(newKid).not.toBe(oldKid);
    expect(signsFrom).toBeGreaterThanOrEqual(before + 120_000);
    expect(signsFrom).toBeLessThanOrEqual(Date.now() + 120_000);
    expect(retiresAt - signsFrom).toBe((DAY + 30) * 1000);

    // Both keys published (public halves only); the old one still signs, never past its retirement.
    const published = publishedKids(dir);
    expect(published.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    expect(published.every((k) => k.d === undefined)).toBe(true);
    const keys = await loadOrCreateIssuerKeys(dir);
    expect(keys.kid).toBe(oldKid);
    expect(keys.publicJwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    expect(keys.notAfter).toBeLessThanOrEqual(Math.floor(retiresAt / 1000) - 30);

    const list = gatehouse(dir, "list");
    expect(list.stdout).toMatch(new RegExp(`signing\\s+${oldKid}.*retires`));
    expect(list.stdout).toMatch(new RegExp(`announced\\s+${newKid}`));

    // One rotation at a time: the next waits until the announced key signs.
    const again = gatehouse(dir, "rotate");
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`a rotation is already under way: key ${newKid} signs from`);
  });

  it("with no lead the new key signs at once, and the command warns that servers may not know it yet", async () => {
    const dir = dataDir();
    const oldKid = (await loadOrCreateIssuerKeys(dir)).kid;
    const rotated = gatehouse(dir, "rotate", "--lead", "0");
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/warning: servers refetch keys at most every 30 s/);
    const newKid = /published (\S+);/.exec(rotated.stdout)?.[1];
    const keys = await loadOrCreateIssuerKeys(dir);
    expect(keys.kid).toBe(newKid);
    expect(keys.publicJwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect(gatehouse(dir, "list").stdout).toMatch(new RegExp(`retiring\\s+${oldKid}`));
  });

  it("an older data directory's single key becomes the first key of the keystore", async () => {
    const dir = dataDir();
    mkdirSync(join(dir, "issuer"), { recursive: true });
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const kid = "sandbox-legacy";
    writeFileSync(
      join(dir, "issuer", "signing-key.json"),
      JSON.stringify({ ...privateKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" }),
    );
    const list = gatehouse(dir, "list");
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/signing\s+sandbox-legacy/);
    expect((await loadOrCreateIssuerKeys(dir)).kid).toBe(kid);
  });

  it("refuses what it cannot do, with usage", () => {
    const dir = dataDir();
    for (const [args, message] of [
      [[], /usage: gatehouse keys rotate/],
      [["spin"], /unknown keys command "spin"/],
      [
        ["rotate", "--lead", "soon"],
        /--lead must be a whole number of seconds between 0 and 86400, not "soon"/,
      ],
      [["rotate", "--lead=-5"], /--lead must be a whole number/],
      [["rotate", "--lead", "-5"], /--lead needs a value/],
      [["rotate", "--lead", "90000"], /--lead must be a whole number/],
      [["list", "--lead", "5"], /keys list takes no options/],
    ] as const) {
      const r = gatehouse(dir, ...args);
      expect(r.status, `${args.join(" ")}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
