export { type SpawnedServer, spawnHttpServer } from "@gatehouse/kit";
export { connectHttp, connectStdio, type Era } from "./clients.ts";
export {
  type BearerProxy,
  CONFORMANCE_REQUIREMENTS,
  type ConformanceRun,
  compareWithBaseline,
  describeChecks,
  expectedFailuresFile,
  readExpectedFailures,
  runConformance,
  startBearerProxy,
} from "./conformance.ts";
export { createTestEnvironment, standInEnv, TEST_ORDERS_DB, type TestEnvironment } from "./environment.ts";
export {
  createPostgresOrders,
  holdTableLock,
  type OrdersKind,
  type PostgresOrders,
  queryPostgres,
} from "./orders-postgres.ts";
export {
  CONFORMANCE_MUST_PASS,
  describeGovernedServer,
  type GovernedServerSuiteOptions,
} from "./server-suite.ts";
export { createPostgresDatabase, type StoreKind } from "./stores.ts";
