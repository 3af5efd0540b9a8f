import { randomBytes } from "node:crypto";
import type { Identity } from "@gatehouse/governance";

export interface Session {
  id: string;
  identity: Identity;
  /** The person's access token for the console (audience: the console); never sent to the browser. */
  accessToken: string;
  /** Epoch ms: the session ends with the access token it holds. */
  expiresAt: number;
}

/**
 * Signed-in sessions, server-side: the browser holds only a random id in an HMAC-signed, HttpOnly,
 * SameSite cookie (Hono's signed cookies), so tokens never reach it. In memory: the console is one
 * process and a restart signs everyone out, which is the safe direction.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private static readonly MAX = 10_000;

  create(identity: Identity, accessToken: string, expiresAt: number): Session {
    if (this.sessions.size >= SessionStore.MAX)
      this.sessions.delete(this.sessions.keys().next().value as string);
    const session = { id: randomBytes(32).toString("base64url"), identity, accessToken, expiresAt };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (s && s.expiresAt <= Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }
}
