/**
 * JQL syntax: a tokenizer and a recursive-descent parser for the subset the stand-in runs.
 *
 *   query    := [ or ] [ ORDER BY sort ( "," sort )* ] EOF
 *   or       := and ( ( OR | "||" | "|" ) and )*
 *   and      := not ( ( AND | "&&" | "&" ) not )*
 *   not      := ( NOT | "!" ) not | "(" or ")" | term
 *   term     := field operator operand
 *   field    := word | string | issue.property "[" key "]" [ ".path.to.value" ]
 *   operator := = | != | ~ | !~ | > | >= | < | <= | IN | NOT IN | IS | IS NOT
 *   operand  := value | "(" value ( "," value )* ")" | EMPTY | NULL | word "(" [ value ( "," value )* ] ")"
 *   sort     := field [ ASC | DESC ]
 *
 * Values are unquoted words or strings in double or single quotes with backslash escapes (\" \' \\ \n \r \t
 * \uXXXX). Keywords are case-insensitive. Syntax errors read like Jira's ("Error in the JQL Query: … (line 1,
 * character 9)"); what a field means and which values exist is checked later, against the data (search.ts).
 */

export type Operator = "=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=" | "in" | "not in" | "is" | "is not";

export type FieldRef =
  | { kind: "field"; name: string; pos: number }
  | { kind: "property"; key: string; path: string[]; pos: number };

export interface Value {
  value: string;
  pos: number;
}

export type Operand =
  | ({ kind: "value" } & Value)
  | { kind: "list"; values: Value[]; pos: number }
  | { kind: "empty"; pos: number }
  | { kind: "function"; name: string; args: Value[]; pos: number };

export type Clause =
  | { kind: "and"; clauses: Clause[] }
  | { kind: "or"; clauses: Clause[] }
  | { kind: "not"; clause: Clause }
  | { kind: "term"; field: FieldRef; operator: Operator; operand: Operand };

export interface SortKey {
  field: FieldRef;
  direction: "asc" | "desc";
}

export interface JqlQuery {
  /** Absent when the query has no search restriction (empty, or only ORDER BY). */
  where?: Clause;
  orderBy: SortKey[];
}

/** A syntax error, worded and positioned like Jira's. */
export class JqlSyntaxError extends Error {
  readonly position: number;

  constructor(detail: string, position: number, jql: string) {
    const before = jql.slice(0, position).split("\n");
    const line = before.length;
    const character = before[before.length - 1]!.length + 1;
    super(`Error in the JQL Query: ${detail} (line ${line}, character ${character})`);
    this.position = position;
    this.name = "JqlSyntaxError";
  }
}

type TokenKind = "word" | "string" | "op" | "(" | ")" | "," | "[" | "]" | "eof";

interface Token {
  kind: TokenKind;
  /** The unescaped value (words, strings) or the operator text. */
  value: string;
  /** Offset of the first character in the query. */
  pos: number;
  /** Offset just past the last character. */
  end: number;
}

/** Characters JQL reserves; unquoted they are an error. */
const RESERVED = new Set(["+", ";", "?", "*", "/", "%", "^", "$", "#", "@", "{", "}", "`"]);
/** Characters that end an unquoted word. */
const DELIMITERS = new Set(["=", "!", "~", "<", ">", "(", ")", ",", "[", "]", '"', "'", "&", "|"]);

const VALID_OPERATORS =
  "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";

export function tokenize(jql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (detail: string, at: number): never => {
    throw new JqlSyntaxError(detail, at, jql);
  };

  /** Reads the backslash escape at `at` (pointing at the backslash); returns the character and the next offset. */
  const readEscape = (at: number): [string, number] => {
    const c = jql[at + 1];
    switch (c) {
      case '"':
      case "'":
      case "\\":
      case " ":
        return [c, at + 2];
      case "n":
        return ["\n", at + 2];
      case "r":
        return ["\r", at + 2];
      case "t":
        return ["\t", at + 2];
      case "u": {
        const hex = jql.slice(at + 2, at + 6);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) return [String.fromCharCode(Number.parseInt(hex, 16)), at + 6];
        return fail(`The escape sequence '\\u${hex}' is invalid.`, at);
      }
      case undefined:
        return fail("The escape character '\\' must be followed by a character.", at);
      default:
        return fail(`The escape sequence '\\${c}' in the string is invalid.`, at);
    }
  };
  /** Reads one character at `at`, unescaping a backslash escape; returns the character and the next offset. */
  const readChar = (at: number): [string, number] => (jql[at] === "\\" ? readEscape(at) : [jql[at]!, at + 1]);
  const reserved = (ch: string, at: number): never => {
    const code = ch.charCodeAt(0).toString(16).padStart(4, "0");
    return fail(
      `The character '${ch}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u${code}' instead.`,
      at,
    );
  };

  while (i < jql.length) {
    const c = jql[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let value = "";
      i++;
      for (;;) {
        if (i >= jql.length)
          fail(`The quoted string '${jql.slice(start + 1)}' has not been completed.`, start);
        const d = jql[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === "\\" && i + 1 >= jql.length)
          fail(`The quoted string '${jql.slice(start + 1)}' has not been completed.`, start);
        const [ch, next] = readChar(i);
        value += ch;
        i = next;
      }
      tokens.push({ kind: "string", value, pos: start, end: i });
      continue;
    }
    const two = jql.slice(i, i + 2);
    if (two === "!=" || two === "!~" || two === ">=" || two === "<=" || two === "&&" || two === "||") {
      tokens.push({ kind: "op", value: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    if ("=~<>!&|".includes(c)) {
      tokens.push({ kind: "op", value: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    if ("(),[]".includes(c)) {
      tokens.push({ kind: c as TokenKind, value: c, pos: start, end: i + 1 });
      i++;
      continue;
    }
    // A word (a reserved character at its start fails at once, as anywhere in it).
    let value = "";
    while (i < jql.length) {
      const d = jql[i]!;
      if (/\s/.test(d) || DELIMITERS.has(d)) break;
      if (RESERVED.has(d)) reserved(d, i);
      const [ch, next] = readChar(i);
      value += ch;
      i = next;
    }
    tokens.push({ kind: "word", value, pos: start, end: i });
  }
  tokens.push({ kind: "eof", value: "", pos: jql.length, end: jql.length });
  return tokens;
}

/** Words that are syntax when unquoted. */
const KEYWORDS = new Set(["and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"]);

export function parseJql(jql: string): JqlQuery {
  const tokens = tokenize(jql);
  let at = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;
  const fail = (detail: string, token: Token): never => {
    throw new JqlSyntaxError(detail, token.pos, jql);
  };
  const isWord = (t: Token, word: string) => t.kind === "word" && t.value.toLowerCase() === word;
  const isKeyword = (t: Token) => t.kind === "word" && KEYWORDS.has(t.value.toLowerCase());
  const quote = (t: Token) => `'${jql.slice(t.pos, t.end)}'`;

  const isAnd = (t: Token) => isWord(t, "and") || (t.kind === "op" && (t.value === "&&" || t.value === "&"));
  const isOr = (t: Token) => isWord(t, "or") || (t.kind === "op" && (t.value === "||" || t.value === "|"));
  const isNot = (t: Token) => isWord(t, "not") || (t.kind === "op" && t.value === "!");
  const isOrder = (t: Token) => isWord(t, "order");

  function field(): FieldRef {
    const t = peek();
    if (t.kind === "eof") return fail("Expecting a field name before the end of the query.", t);
    if (t.kind === "string" || (t.kind === "word" && !isKeyword(t))) {
      next();
      if (t.kind === "word" && t.value.toLowerCase() === "issue.property") return property(t);
      return { kind: "field", name: t.value, pos: t.pos };
    }
    return fail(`Expecting a field name but got ${quote(t)}.`, t);
  }

  /** `issue.property[key].path.to.value` — the tokenizer hands over `[`, the key, `]` and `.path.to.value`. */
  function property(start: Token): FieldRef {
    const open = next();
    if (open.kind !== "[")
      fail(`Expecting '[' but got ${open.kind === "eof" ? "the end of the query" : quote(open)}.`, open);
    const key = next();
    if (key.kind !== "word" && key.kind !== "string")
      fail(
        `Expecting a property key but got ${key.kind === "eof" ? "the end of the query" : quote(key)}.`,
        key,
      );
    const close = next();
    if (close.kind !== "]")
      fail(`Expecting ']' but got ${close.kind === "eof" ? "the end of the query" : quote(close)}.`, close);
    const path: string[] = [];
    const p = peek();
    if (p.kind === "word" && p.pos === close.end && p.value.startsWith(".")) {
      next();
      const segments = p.value.slice(1).split(".");
      if (segments.some((s) => s === "")) fail(`The property path '${p.value}' is invalid.`, p);
      path.push(...segments);
    }
    return { kind: "property", key: key.value, path, pos: start.pos };
  }

  function operator(): Operator {
    const t = next();
    if (t.kind === "op" && ["=", "!=", "~", "!~", ">", ">=", "<", "<="].includes(t.value))
      return t.value as Operator;
    if (isWord(t, "in")) return "in";
    if (isWord(t, "not")) {
      const u = next();
      if (isWord(u, "in")) return "not in";
      return fail(
        `Expecting 'IN' but got ${u.kind === "eof" ? "the end of the query" : quote(u)}. ${VALID_OPERATORS}`,
        u,
      );
    }
    if (isWord(t, "is")) {
      if (isWord(peek(), "not")) {
        next();
        return "is not";
      }
      return "is";
    }
    if (t.kind === "eof")
      return fail(`Expecting operator before the end of the query. ${VALID_OPERATORS}`, t);
    return fail(`Expecting operator but got ${quote(t)}. ${VALID_OPERATORS}`, t);
  }

  function value(what: string): Value {
    const t = next();
    if (t.kind === "string" || (t.kind === "word" && !isKeyword(t))) return { value: t.value, pos: t.pos };
    if (isKeyword(t))
      return fail(
        `'${t.value}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.`,
        t,
      );
    if (t.kind === "eof") return fail(`Expecting ${what} before the end of the query.`, t);
    return fail(`Expecting ${what} but got ${quote(t)}.`, t);
  }

  function list(): Value[] {
    const open = next(); // "("
    const values: Value[] = [];
    if (peek().kind === ")")
      fail("Expecting a value but got ')'. A list must hold at least one value.", peek());
    for (;;) {
      values.push(value("a value"));
      const t = next();
      if (t.kind === ")") return values;
      if (t.kind === ",") continue;
      if (t.kind === "eof") fail(`Expecting ')' to close the list opened at character ${open.pos + 1}.`, t);
      fail(`Expecting ',' or ')' but got ${quote(t)}.`, t);
    }
  }

  function operand(op: Operator): Operand {
    const t = peek();
    if (op === "is" || op === "is not") {
      if (isWord(t, "empty") || isWord(t, "null")) {
        next();
        return { kind: "empty", pos: t.pos };
      }
      return fail(
        `Expecting 'EMPTY' or 'NULL' but got ${t.kind === "eof" ? "the end of the query" : quote(t)}.`,
        t,
      );
    }
    if (t.kind === "(") return { kind: "list", values: list(), pos: t.pos };
    if (isWord(t, "empty") || isWord(t, "null")) {
      next();
      return { kind: "empty", pos: t.pos };
    }
    if (op === "in" || op === "not in") {
      if (t.kind === "word" && !isKeyword(t) && tokens[at + 1]?.kind === "(") return func();
      if (t.kind === "eof") return fail("Expecting '(' before the end of the query.", t);
      return fail(`Expecting '(' but got ${quote(t)}. The operator '${op.toUpperCase()}' takes a list.`, t);
    }
    if (t.kind === "word" && !isKeyword(t) && tokens[at + 1]?.kind === "(") return func();
    const v = value("either a value, list or function");
    return { kind: "value", ...v };
  }

  function func(): Operand {
    const name = next();
    next(); // "("
    const args: Value[] = [];
    if (peek().kind === ")") {
      next();
      return { kind: "function", name: name.value, args, pos: name.pos };
    }
    for (;;) {
      args.push(value("a function argument"));
      const t = next();
      if (t.kind === ")") return { kind: "function", name: name.value, args, pos: name.pos };
      if (t.kind !== ",")
        fail(`Expecting ',' or ')' but got ${t.kind === "eof" ? "the end of the query" : quote(t)}.`, t);
    }
  }

  function primary(): Clause {
    const t = peek();
    if (isNot(t)) {
      next();
      return { kind: "not", clause: primary() };
    }
    if (t.kind === "(") {
      next();
      const inner = or();
      const close = next();
      if (close.kind !== ")")
        fail(
          close.kind === "eof"
            ? `Expecting ')' to close the '(' at character ${t.pos + 1} before the end of the query.`
            : `Expecting either 'OR', 'AND' or ')' but got ${quote(close)}.`,
          close,
        );
      return inner;
    }
    const f = field();
    const op = operator();
    return { kind: "term", field: f, operator: op, operand: operand(op) };
  }

  function and(): Clause {
    const clauses = [primary()];
    while (isAnd(peek())) {
      next();
      clauses.push(primary());
    }
    return clauses.length === 1 ? clauses[0]! : { kind: "and", clauses };
  }

  function or(): Clause {
    const clauses = [and()];
    while (isOr(peek())) {
      next();
      clauses.push(and());
    }
    return clauses.length === 1 ? clauses[0]! : { kind: "or", clauses };
  }

  function orderBy(): SortKey[] {
    next(); // ORDER
    const by = next();
    if (!isWord(by, "by"))
      fail(`Expecting 'BY' but got ${by.kind === "eof" ? "the end of the query" : quote(by)}.`, by);
    const keys: SortKey[] = [];
    for (;;) {
      const f = field();
      let direction: "asc" | "desc" = "asc";
      if (isWord(peek(), "asc") || isWord(peek(), "desc"))
        direction = next().value.toLowerCase() as "asc" | "desc";
      keys.push({ field: f, direction });
      const t = peek();
      if (t.kind === ",") {
        next();
        continue;
      }
      if (t.kind === "eof") return keys;
      return fail(`Expecting either 'ASC', 'DESC' or ',' but got ${quote(t)}.`, t);
    }
  }

  const query: JqlQuery = { orderBy: [] };
  if (peek().kind !== "eof" && !isOrder(peek())) query.where = or();
  const t = peek();
  if (isOrder(t)) query.orderBy = orderBy();
  else if (t.kind !== "eof")
    fail(
      t.kind === ")"
        ? "Expecting either 'OR' or 'AND' but got ')'. There is no '(' to close."
        : `Expecting either 'OR' or 'AND' but got ${quote(t)}.`,
      t,
    );
  return query;
}

/**
 * Quotes a value for JQL the safe way: double quotes, with backslash and double quote escaped and control
 * characters written as escapes. What the ticket servers should do with every user-supplied value.
 */
export function jqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch < " ") out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
