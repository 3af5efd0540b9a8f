import { ToolError } from "@gatehouse/kit";

/** HubSpot's `after` paging token, wrapped so agents treat it as opaque and cannot forge offsets. */
export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ a: after })).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { a?: unknown };
    if (typeof value.a === "string" && /^\d{1,5}$/.test(value.a)) return value.a;
  } catch {
    // fall through
  }
  throw new ToolError(
    "cursor is not one this server issued; pass next_cursor from the previous page unchanged",
  );
}
