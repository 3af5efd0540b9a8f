/** The sandbox's fixed loopback ports before any offset: issuer, HubSpot and Jira stand-ins. */
export const SANDBOX_PORTS = { issuer: 7100, hubspot: 7110, jira: 7120 } as const;

/**
 * `GATEHOUSE_PORT_OFFSET` shifts every port the sandbox uses (issuer, stand-ins and each server's
 * default port) by the same amount, so a second sandbox (or a test) can run beside the first.
 */
export function portOffset(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.GATEHOUSE_PORT_OFFSET;
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  // Whole hundreds: the sandbox's own ports span 7100-7199, so a smaller shift would land on them.
  if (!Number.isInteger(n) || n < 0 || n > 1000 || n % 100 !== 0)
    throw new Error(`GATEHOUSE_PORT_OFFSET must be 0, 100, 200, … up to 1000, not "${raw}"`);
  return n;
}

export const sandboxPort = (name: keyof typeof SANDBOX_PORTS, env: NodeJS.ProcessEnv = process.env) =>
  SANDBOX_PORTS[name] + portOffset(env);
