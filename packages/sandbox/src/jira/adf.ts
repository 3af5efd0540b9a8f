/**
 * Atlassian Document Format, as far as the stand-in needs it: Jira REST v3 takes rich text (description,
 * comment body) only as an ADF document `{ type: "doc", version: 1, content: [...] }` and rejects anything else.
 */

export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
}

export interface AdfDoc {
  type: "doc";
  version: 1;
  content: AdfNode[];
}

/** Node types Jira's ADF schema knows. Anything else inside a document is INVALID_INPUT. */
const NODE_TYPES = new Set([
  "blockquote",
  "blockCard",
  "bulletList",
  "codeBlock",
  "date",
  "decisionItem",
  "decisionList",
  "embedCard",
  "emoji",
  "expand",
  "hardBreak",
  "heading",
  "inlineCard",
  "listItem",
  "media",
  "mediaGroup",
  "mediaInline",
  "mediaSingle",
  "mention",
  "nestedExpand",
  "orderedList",
  "panel",
  "paragraph",
  "placeholder",
  "rule",
  "status",
  "table",
  "tableCell",
  "tableHeader",
  "tableRow",
  "taskItem",
  "taskList",
  "text",
]);
const MARK_TYPES = new Set([
  "alignment",
  "backgroundColor",
  "border",
  "code",
  "em",
  "indentation",
  "link",
  "strike",
  "strong",
  "subsup",
  "textColor",
  "underline",
]);

/** The error Jira puts on the field when the value is not an ADF document at all. */
export const NOT_A_DOCUMENT =
  "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
/** The error Jira puts on the field when the value is a document with an invalid node inside. */
export const INVALID_INPUT = "INVALID_INPUT";

/** `undefined` when `value` is a valid ADF document, else the field error Jira reports for it. */
export function adfError(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return NOT_A_DOCUMENT;
  const doc = value as Record<string, unknown>;
  if (doc.type !== "doc" || !Array.isArray(doc.content)) return NOT_A_DOCUMENT;
  if (doc.version !== 1) return INVALID_INPUT;
  return doc.content.every((n) => validNode(n, 1)) ? undefined : INVALID_INPUT;
}

function validNode(value: unknown, depth: number): boolean {
  if (depth > 64 || typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const n = value as Record<string, unknown>;
  if (typeof n.type !== "string" || !NODE_TYPES.has(n.type)) return false;
  if (n.type === "text" && (typeof n.text !== "string" || n.text.length === 0)) return false;
  if (n.attrs !== undefined && (typeof n.attrs !== "object" || n.attrs === null)) return false;
  if (n.marks !== undefined) {
    if (!Array.isArray(n.marks)) return false;
    for (const m of n.marks) {
      if (typeof m !== "object" || m === null) return false;
      const type = (m as { type?: unknown }).type;
      if (typeof type !== "string" || !MARK_TYPES.has(type)) return false;
    }
  }
  if (n.content !== undefined) {
    if (!Array.isArray(n.content)) return false;
    if (!n.content.every((c) => validNode(c, depth + 1))) return false;
  }
  return true;
}

/** The plain text of a document (what JQL `~` searches), blocks separated by newlines. */
export function adfText(doc: AdfDoc | null | undefined): string {
  if (!doc) return "";
  const out: string[] = [];
  const walk = (n: AdfNode) => {
    if (n.type === "text" && n.text) out.push(n.text);
    if (n.type === "hardBreak") out.push("\n");
    for (const c of n.content ?? []) walk(c);
    if (n.type === "paragraph" || n.type === "heading" || n.type === "listItem") out.push("\n");
  };
  for (const n of doc.content) walk(n);
  return out.join("").trim();
}

/** A document of plain paragraphs, one per argument. */
export function adfParagraphs(...paragraphs: string[]): AdfDoc {
  return {
    type: "doc",
    version: 1,
    content: paragraphs.map((text) => ({ type: "paragraph", content: [{ type: "text", text }] })),
  };
}
