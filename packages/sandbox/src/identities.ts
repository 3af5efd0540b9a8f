import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface SeededUser {
  name: string;
  roles: string[];
  tenant: string;
}

export interface IdentityDirectory {
  users: Record<string, SeededUser>;
  roleScopes: Record<string, string[]>;
}

export const identitiesFile = join(dirname(fileURLToPath(import.meta.url)), "..", "identities.json");

export function loadIdentities(file = identitiesFile): IdentityDirectory {
  return JSON.parse(readFileSync(file, "utf8")) as IdentityDirectory;
}

/** The scopes these roles grant. */
export function roleScopes(dir: IdentityDirectory, roles: string[]): string[] {
  return [...new Set(roles.flatMap((r) => dir.roleScopes[r] ?? []))].sort();
}

/** The scopes a user's roles grant by default in a sandbox token. */
export function defaultScopes(dir: IdentityDirectory, user: SeededUser): string[] {
  return roleScopes(dir, user.roles);
}
