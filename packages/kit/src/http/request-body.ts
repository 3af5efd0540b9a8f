import type { IncomingMessage } from "node:http";
import { guardMessageDepth } from "../argument-depth.ts";

export interface RequestBody {
  text: string;
  tooLarge: boolean;
}

/** Reads a body up to `limit` bytes; a declared or actual size over it stops reading. */
export async function readBody(req: IncomingMessage, limit: number): Promise<RequestBody> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    return { text: "", tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return { text: "", tooLarge: true };
    chunks.push(chunk as Buffer);
  }
  return { text: Buffer.concat(chunks).toString("utf8"), tooLarge: false };
}

export type JsonRpcBody =
  | { ok: true; message: unknown }
  | { ok: false; status: number; code: number; message: string; close?: boolean };

/**
 * A POST body as a JSON-RPC message (or batch), or the HTTP answer refusing it: over the size limit,
 * not JSON, or nested so deep that the SDK's recursive validation should never walk it.
 */
export async function readJsonRpcBody(req: IncomingMessage, limit: number): Promise<JsonRpcBody> {
  const body = await readBody(req, limit);
  if (body.tooLarge) {
    return {
      ok: false,
      status: 413,
      code: -32600,
      message: `request body over the ${limit}-byte limit`,
      close: true,
    };
  }
  let message: unknown;
  try {
    message = JSON.parse(body.text);
  } catch {
    return { ok: false, status: 400, code: -32700, message: "Parse error: the body is not valid JSON" };
  }
  const depth = guardMessageDepth(message);
  if (!depth.ok)
    return { ok: false, status: 400, code: -32600, message: `Invalid request: ${depth.message}` };
  return { ok: true, message };
}
