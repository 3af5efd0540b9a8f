import { describe, expect, it } from "vitest";
import { contentHash, quoteJql, textToAdf, withinProjects } from "../src/index.ts";

const content = {
  project: "SUP",
  issueType: "Task",
  summary: "s",
  description: "d",
  priority: null,
  labels: [],
  customerId: null,
  orderId: null,
  commentOn: null,
};

describe("tickets domain", () => {
  it("gives every change of content, and every draft, its own hash", () => {
    const h = contentHash("dr_1", content);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash("dr_1", { ...content })).toBe(h);
    expect(contentHash("dr_1", { ...content, summary: "s " })).not.toBe(h);
    expect(contentHash("dr_2", content)).not.toBe(h);
  });

  it.each([
    ['a " OR project = NAS', '"a \\" OR project = NAS"'],
    ["back\\slash", '"back\\\\slash"'],
    ['trailing \\"', '"trailing \\\\\\""'],
    ["new\nline", '"new line"'],
  ])("quotes %j so it stays one JQL value", (value, quoted) => {
    expect(quoteJql(value)).toBe(quoted);
  });

  it("always scopes a query to the allowed projects", () => {
    expect(withinProjects(["SUP"], 'text ~ "x"')).toBe('project in ("SUP") AND (text ~ "x")');
    expect(() => withinProjects([], "x")).toThrow(/unscoped/);
  });

  it("turns plain text into ADF paragraphs with hard breaks, never markup", () => {
    expect(textToAdf("one\ntwo\n\n<b>three</b>")).toEqual({
      type: "doc",
      version: 1,
      content: [
        {
          type: "paragraph",
          content: [{ type: "text", text: "one" }, { type: "hardBreak" }, { type: "text", text: "two" }],
        },
        { type: "paragraph", content: [{ type: "text", text: "<b>three</b>" }] },
      ],
    });
  });
});
