export { type Dialect, describeUrl, isPostgresUrl, openStore, type Store } from "./database.ts";
export { migrateToLatest } from "./migrate.ts";
export { defaultDataDir, repoRoot } from "./paths.ts";
export { withStatementCache } from "./statement-cache.ts";
export type {
  AccessSeenTable,
  ApprovalsTable,
  AuditEventsTable,
  GatehouseTables,
  KillSwitchesTable,
  RevocationsTable,
  TicketDraftsTable,
  TicketSendsTable,
} from "./tables.ts";
export { inTransaction, lockingRead, type StoreDb } from "./transaction.ts";
