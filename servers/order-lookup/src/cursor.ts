import { ToolError } from "@gatehouse/kit";

/** Opaque keyset cursors: base64url JSON the caller hands back unchanged. */
export function encodeCursor(key: [string, string]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): [string, string] | undefined {
  if (!cursor) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(key) && key.length === 2 && key.every((k) => typeof k === "string"))
      return key as [string, string];
  } catch {
    // fall through to the error below
  }
  throw new ToolError(
    "cursor is not one this server issued; pass next_cursor from the previous page unchanged",
  );
}
