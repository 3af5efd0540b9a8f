import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connectHttp, createTestEnvironment, tsxLoader } from "@gatehouse/kit/testing";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY } from "../support/servers.ts";

const env = await createTestEnvironment({ storeKind: "sqlite" });
const flags = (process.env.REPRO_FLAGS ?? "").split(" ").filter(Boolean);
const child = spawn(process.execPath, [...flags, "--import", tsxLoader, ORDER_LOOKUP_ENTRY, "http"], {
  env: {
    ...process.env,
    ...env.env,
    GATEHOUSE_PORT: "0",
    LOG_LEVEL: "info",
    GATEHOUSE_RATE_LIMIT_USER: "100000000/60s",
    GATEHOUSE_RATE_LIMIT_TENANT: "100000000/60s",
    GATEHOUSE_RATE_LIMIT_TOOL: "100000000/60s",
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let tail = "";
const keep = (c: Buffer | string) => {
  tail = (tail + c.toString()).slice(-400000);
};
child.stdout!.on("data", keep);
const url = await new Promise<string>((resolve) => {
  child.stderr!.on("data", (c: Buffer) => {
    keep(c);
    const m = /"serving on http".*?"url":"([^"]+)"|"url":"([^"]+)".*"serving on http"/.exec(tail);
    if (m) resolve((m[1] ?? m[2])!);
  });
});
const server = {
  url,
  stop: async () => {
    child.kill();
  },
};
const client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
let n = 0;
const total = Number(process.env.REPRO_CALLS ?? 8000);
const t0 = performance.now();
try {
  for (let round = 0; n < total; round++) {
    for (let i = 0; i < 500; i++) {
      n++;
      await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
    }
    let m = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (m < 1000) {
          m++;
          n++;
          await client.callTool({ name: "get_order", arguments: { order_id: EMEA_ORDER } });
        }
      }),
    );
    process.stdout.write(`round ${round} done, ${n} calls\n`);
  }
  process.stdout.write(`ok ${n} calls in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
} catch (e) {
  process.stdout.write(`FAILED after ${n} calls: ${(e as Error).message}\n`);
  await new Promise((r) => setTimeout(r, 500));
  writeFileSync(`/tmp/repro-tail-${process.pid}.log`, tail);
}
await client.close().catch(() => {});
await server.stop().catch(() => {});
await env.close();
process.exit(0);
