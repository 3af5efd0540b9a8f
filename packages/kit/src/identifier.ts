import { z } from "zod";

/**
 * An identifier argument as real clients send it. Ids such as HubSpot's `1001` are strings, but
 * MCP Inspector's CLI (`--tool-arg company_id=1001`) and LLM clients send numeric-looking values as
 * JSON numbers. This accepts `text` as it is, or a whole number from 0 to 2^53 − 1, which becomes its
 * canonical decimal string and must then pass `text` too: the handler always receives a string.
 *
 * Nothing else loosens: negative, fractional, NaN, infinite and unsafe numbers (above
 * Number.MAX_SAFE_INTEGER a JSON number may no longer be the digits the caller meant), booleans,
 * objects, arrays and null are refused. The published input schema says exactly this: `anyOf` the
 * string schema and `{ type: "integer", minimum: 0, maximum: 9007199254740991 }`.
 */
export function identifier(text: z.ZodType<string, string>, what = "an id") {
  const wholeNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
  return z.union([text, wholeNumber.transform((n) => String(n)).pipe(text)], {
    // Raised when the value is neither an acceptable string nor an acceptable number.
    error: (issue) => {
      if (issue.code !== "invalid_union") return undefined;
      return typeof issue.input === "number"
        ? `${what} sent as a number must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}; send other ids as a string`
        : `${what} must be a string (or a whole number of 0 or more)`;
    },
  });
}
