import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../generated/orders-prisma/client.ts";
import { buildOrdersSeed } from "./seed-data.ts";

/** Where the orders schema, its migrations and prisma.config.ts live: the order-lookup package owns them. */
const orderLookupDir = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "servers",
  "order-lookup",
);

/**
 * Creates the sandbox copy of the company's orders database, if it is not there yet: Prisma applies the
 * schema's migrations to a fresh SQLite file, then the Prisma Client seeds it. The file is built under a
 * temporary name and renamed, so concurrent starters never see a half-seeded database.
 */
export async function ensureOrdersDatabase(
  file: string,
  opts: { now?: Date } = {},
): Promise<{ file: string; created: boolean }> {
  const target = resolve(file);
  if (existsSync(target)) return { file: target, created: false };
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.building-${process.pid}-${Date.now()}`;
  try {
    migrateDeploy(temp);
    await seed(temp, opts.now);
    if (!existsSync(target)) renameSync(temp, target);
  } finally {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
  }
  return { file: target, created: true };
}

function migrateDeploy(file: string): void {
  const require = createRequire(join(orderLookupDir, "package.json"));
  const prismaCli = join(dirname(require.resolve("prisma/package.json")), "build", "index.js");
  const result = spawnSync(process.execPath, [prismaCli, "migrate", "deploy"], {
    cwd: orderLookupDir,
    env: {
      ...process.env,
      ORDERS_DATABASE_URL: `file:${file}`,
      CHECKPOINT_DISABLE: "1",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `prisma migrate deploy failed for the sandbox orders database:\n${result.stderr || result.stdout || result.error}`,
    );
  }
}

async function seed(file: string, now?: Date): Promise<void> {
  const prisma = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}` }) });
  try {
    const data = buildOrdersSeed({ now });
    await prisma.$transaction([
      prisma.customer.createMany({ data: data.customers }),
      prisma.order.createMany({ data: data.orders }),
      prisma.orderLine.createMany({ data: data.lines }),
      prisma.shipment.createMany({ data: data.shipments }),
      prisma.invoice.createMany({ data: data.invoices }),
      prisma.payment.createMany({ data: data.payments }),
    ]);
  } finally {
    await prisma.$disconnect();
  }
}
