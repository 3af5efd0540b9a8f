/**
 * JQL built only from quoted values: a user-supplied string can never close its quotes and add
 * clauses. Every query is ANDed with the projects the caller may see.
 */
export function quoteJql(value: string): string {
  // Control characters have no place in a search term; quotes and backslashes are escaped.
  const clean = [...value]
    .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? " " : c))
    .join("");
  return `"${clean.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function withinProjects(projects: string[], clause: string): string {
  if (projects.length === 0) throw new Error("no projects allowed: refusing to build an unscoped query");
  const scope = `project in (${projects.map(quoteJql).join(", ")})`;
  return clause ? `${scope} AND (${clause})` : scope;
}
