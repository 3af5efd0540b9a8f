export { type Dialect, describeUrl, isPostgresUrl, openStore, type Store } from "./database.ts";
export { migrateToLatest } from "./migrate.ts";
export { defaultDataDir, repoRoot } from "./paths.ts";
export type { AuditEventsTable, GatehouseTables, KillSwitchesTable } from "./tables.ts";
