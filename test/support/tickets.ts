import type { RunningJira } from "@gatehouse/sandbox";
import type { SpawnedServer, TestEnvironment } from "@gatehouse/testing";
import { RELAXED_LIMITS } from "./servers.ts";

/** The environment ticket-draft and ticket-send need to join a test world and its Jira stand-in. */
export function ticketServerEnv(
  env: TestEnvironment,
  jira: RunningJira,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...env.env,
    ...RELAXED_LIMITS,
    JIRA_BASE_URL: jira.url,
    JIRA_EMAIL: jira.email,
    JIRA_API_TOKEN: jira.apiToken,
    ...extra,
  };
}

/** What send_ticket returns. */
export interface SendResult {
  jira_key: string | null;
  replayed: boolean;
  approval_id: string | null;
  approved_by: string | null;
  jira_request: Record<string, unknown> | null;
}

export interface ApprovalView {
  content_hash?: string;
  latest_decision?: { id: string; decision: string; approver: string } | null;
  subject?: { authors?: string[] };
  error_description?: string;
}

export interface DecisionAnswer {
  status: number;
  headers: Headers;
  body: { approval_id?: string; decision?: string; error_description?: string; error?: string };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `round(i)` for i in 0..count-1, `size` rounds at a time (each batch races its rounds). */
export async function inBatches(count: number, size: number, round: (i: number) => Promise<void>) {
  for (let start = 0; start < count; start += size) {
    await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => round(start + k)));
  }
}

/**
 * People reviewing and deciding on ticket-send's approval endpoint, as a browser or the CLI would: GET shows
 * the draft, its hash and the latest decision; POST decides on what was shown. Every first request sent per
 * draft is kept, so a test can replay it as an attacker who captured it would.
 */
export function createApprovalDesk(env: TestEnvironment, server: SpawnedServer) {
  const endpoint = (draftId: string) => `${new URL(server.url).origin}/approvals/${draftId}`;
  const firstRequest = new Map<string, { token: string; body: string }>();

  const review = async (user: string, draftId: string) => {
    const token = await env.mint(user, { audience: server.url });
    const res = await fetch(endpoint(draftId), { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as ApprovalView };
  };

  const post = async (token: string, draftId: string, body: string): Promise<DecisionAnswer> => {
    const res = await fetch(endpoint(draftId), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as DecisionAnswer["body"] };
  };

  return {
    review,
    /** Reviews, then decides on what was shown (or on `hash`, to decide on a stale view). */
    async decide(user: string, draftId: string, decision: "approve" | "reject", hash?: string) {
      const token = await env.mint(user, { audience: server.url });
      const shown = (await review(user, draftId)).body;
      const body = JSON.stringify({
        decision,
        content_hash: hash ?? shown.content_hash ?? "0".repeat(64),
        previous_decision: shown.latest_decision?.id ?? null,
        reason: decision === "reject" ? "wrong customer" : undefined,
      });
      if (!firstRequest.has(draftId)) firstRequest.set(draftId, { token, body });
      return post(token, draftId, body);
    },
    /** Sends the first decision request made on this draft again, byte for byte. */
    replayFirstApproval(draftId: string) {
      const first = firstRequest.get(draftId);
      if (!first) throw new Error(`no decision was requested on ${draftId}`);
      return post(first.token, draftId, first.body);
    },
    /** A raw POST body, for malformed and hostile requests. */
    async postRaw(user: string, draftId: string, body: string) {
      return post(await env.mint(user, { audience: server.url }), draftId, body);
    },
  };
}
