import type { ApprovalSubject, Identity, UsableApproval } from "@gatehouse/governance";
import type { StoreDb } from "@gatehouse/store";
import type { Logger } from "pino";
import { z } from "zod";
import type { TraceContext } from "./trace-context.ts";

/**
 * What a tool does to the world. Read and write never share a tool, and the MCP annotations a client
 * sees are derived from the kind, so they cannot drift from what the tool really does.
 */
export type ToolKind = "read" | "draft" | "send";

/** A record a result refers to; the kit asks policy whether the caller may see each one. */
export interface RecordRef {
  type: string;
  id: string;
  tenant: string;
}

export interface ToolContext<S> {
  identity: Identity;
  services: S;
  log: Logger;
  signal: AbortSignal;
  /** When the caller's time is up (epoch ms): `signal` aborts then, and so must every upstream request. */
  deadline: number;
  /**
   * Whether this caller may see the tool's PII fields (it holds the tool's `piiScope` and policy allows).
   * A handler must not match, filter or sort on fields the caller may not see: that would be an oracle.
   */
  piiVisible: boolean;
  correlationId: string;
  /** This call's span: downstream calls carry `trace.traceparent` and `trace.correlationId`. */
  trace: TraceContext;
  /**
   * The caller's verified access token, only for servers that declare `tokenExchange`: to exchange it
   * for a token of another server at the identity provider. Never forward it.
   */
  callerToken?: string;
  /**
   * For `send` tools: the approval the kit checked before the handler. The handler claims it inside the
   * transaction that freezes what it will send, passing that frozen snapshot: the claim succeeds only while
   * this approval is still the decision in force for exactly that content, and records its use.
   */
  approval?: {
    id: string;
    approver: string;
    claim(db: StoreDb, snapshot: ApprovalSubject): Promise<UsableApproval>;
  };
  /**
   * Adds facts about the call's downstream work (upstream status, attempts, counts) to the outcome
   * audit event. Values must be metadata, never records or PII.
   */
  annotate(
    key: string,
    value: string | number | boolean | null | Record<string, string | number | boolean | null>,
  ): void;
}

/**
 * A tool's input as its handler sees it: the kit fills an omitted `tenant` with the caller's before any
 * stage that reads it (see `tenantArgument`), so handlers never see it undefined.
 */
export type ToolInput<I extends z.ZodObject> = string extends keyof z.infer<I>
  ? z.infer<I> // a tool of unknown shape (the kit's own view of every tool)
  : "tenant" extends keyof z.infer<I>
    ? Omit<z.infer<I>, "tenant"> & { tenant: string }
    : z.infer<I>;

export interface ToolDefinition<
  S = unknown,
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
> {
  name: string;
  title: string;
  description: string;
  kind: ToolKind;
  /** The OAuth scope a token must carry, `<domain>:<action>`. */
  scope: string;
  /** Holders of this scope see emails and phone numbers; everyone else gets them redacted. */
  piiScope?: string;
  input: I;
  output: O;
  /**
   * The existing record a call acts on (a draft to update or send): policy checks its tenant before
   * the handler runs, so a refused call changes nothing. Undefined when it does not exist.
   */
  target?: (input: z.infer<I>, ctx: ToolContext<S>) => Promise<RecordRef | undefined>;
  /** The records in a result, for the per-record tenant check. */
  records?: (output: z.infer<O>) => RecordRef[];
  /**
   * Required for `send` tools: what the call would send, for the approval check before the handler
   * runs. Return null when nothing new will be sent (a dry run, or a replay of a finished send).
   */
  approval?: (input: z.infer<I>, ctx: ToolContext<S>) => Promise<ApprovalSubject | null>;
  handler: (input: z.infer<I>, ctx: ToolContext<S>) => Promise<z.infer<O>>;
}

/**
 * The optional `tenant` argument of tenant-scoped tools. The kit fills it with the caller's tenant when
 * it is omitted and policy decides whether another tenant may be named.
 */
export const tenantArgument = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}$/, "a tenant is a short lowercase name such as emea or na")
  .optional()
  .describe("Tenant to read; defaults to your own");

export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const SCOPE_NAME = /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/;

/** Declares a governed tool. Validation here turns a bad definition into a start-up error, not a runtime surprise. */
export function defineTool<S, I extends z.ZodObject, O extends z.ZodObject>(
  def: ToolDefinition<S, I, O>,
): ToolDefinition<S, I, O> {
  if (!TOOL_NAME.test(def.name)) throw new Error(`tool name "${def.name}" must match ${TOOL_NAME}`);
  if (!SCOPE_NAME.test(def.scope))
    throw new Error(`tool ${def.name}: scope "${def.scope}" must look like <domain>:<action>`);
  if (def.piiScope && !SCOPE_NAME.test(def.piiScope))
    throw new Error(`tool ${def.name}: piiScope "${def.piiScope}" is malformed`);
  return def;
}

/**
 * A server's own `defineTool`, bound to its services: `export const defineCrmTool = toolsFor<CrmServices>();`
 * in the server's services.ts. Every handler's `ctx.services` is then typed from the server without a hand
 * annotation, and a service the server does not have fails typecheck.
 */
export function toolsFor<S>() {
  return <I extends z.ZodObject, O extends z.ZodObject>(
    def: TypedToolDefinition<S, I, O>,
  ): ToolDefinition<S, I, O> =>
    // Sound: the kit fills `tenant` (withDefaultTenant) before input parsing, so every stage sees it set.
    defineTool(def as unknown as ToolDefinition<S, I, O>);
}

/** A tool as its author writes it through `toolsFor`: every stage sees the input with `tenant` filled in. */
export type TypedToolDefinition<S, I extends z.ZodObject, O extends z.ZodObject> = Omit<
  ToolDefinition<S, I, O>,
  "target" | "approval" | "handler"
> & {
  target?: (input: ToolInput<I>, ctx: ToolContext<S>) => Promise<RecordRef | undefined>;
  approval?: (input: ToolInput<I>, ctx: ToolContext<S>) => Promise<ApprovalSubject | null>;
  handler: (input: ToolInput<I>, ctx: ToolContext<S>) => Promise<z.infer<O>>;
};

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Annotations follow from the kind: only `send` changes the outside world, and it is not idempotent by itself. */
export function annotationsFor(kind: ToolKind): ToolAnnotations {
  switch (kind) {
    case "read":
      return { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
    case "draft":
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
    case "send":
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
  }
}
