import type { Migration, MigrationProvider } from "kysely/migration";
import { auditAndKillSwitches } from "./001_audit_and_kill_switches.ts";
import { ticketsAndApprovals } from "./002_tickets_and_approvals.ts";
import { writePath } from "./003_write_path.ts";
import { auditSequenceConstraints } from "./004_audit_sequence_constraints.ts";
import { revocationsAndAccess } from "./005_revocations_and_access.ts";

/** Migrations ship in code (not read from disk) so they run the same from source, tests and bundles. */
const migrations: Record<string, Migration> = {
  "001_audit_and_kill_switches": auditAndKillSwitches,
  "002_tickets_and_approvals": ticketsAndApprovals,
  "003_write_path": writePath,
  "004_audit_sequence_constraints": auditSequenceConstraints,
  "005_revocations_and_access": revocationsAndAccess,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
