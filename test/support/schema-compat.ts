/**
 * Does every value a producer's JSON Schema allows pass a consumer's schema? A structural check over the
 * subset of JSON Schema that zod emits (type, properties/required, items, anyOf, enum/const, pattern,
 * format, numeric bounds): it lists the places where a producer could send something the consumer
 * refuses. Conservative: anything it cannot prove compatible is a problem.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  [k: string]: unknown;
};

const typesOf = (s: JsonSchema): Set<string> | undefined => {
  if (s.const !== undefined) return new Set([jsonType(s.const)]);
  if (s.enum) return new Set(s.enum.map(jsonType));
  if (s.type === undefined) return undefined;
  return new Set(Array.isArray(s.type) ? s.type : [s.type]);
};

const jsonType = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "array"
      : typeof v === "number"
        ? Number.isInteger(v)
          ? "integer"
          : "number"
        : typeof v;

/** Narrows a schema to one JSON type (a producer's `type: ["string","null"]` is checked per type). */
const only = (s: JsonSchema, type: string): JsonSchema => ({ ...s, type });

export function incompatibilities(producer: JsonSchema, consumer: JsonSchema, at = "$"): string[] {
  // A consumer alternative set: the producer must fit one of them as a whole, or be split by type.
  const consumerAlts = consumer.anyOf ?? consumer.oneOf;
  const producerAlts = producer.anyOf ?? producer.oneOf;
  if (producerAlts) return producerAlts.flatMap((p) => incompatibilities(p, consumer, at));
  const producerTypes = typesOf(producer);
  if (producerTypes && producerTypes.size > 1)
    return [...producerTypes].flatMap((t) => incompatibilities(only(producer, t), consumer, at));
  if (consumerAlts) {
    const fits = consumerAlts.map((c) => incompatibilities(producer, c, at));
    return fits.some((f) => f.length === 0) ? [] : (fits.sort((a, b) => a.length - b.length)[0] ?? []);
  }

  const problems: string[] = [];
  const consumerTypes = typesOf(consumer);
  if (consumerTypes) {
    if (!producerTypes)
      return [`${at}: the producer does not say its type; business expects ${[...consumerTypes]}`];
    for (const t of producerTypes) {
      const accepted = consumerTypes.has(t) || (t === "integer" && consumerTypes.has("number"));
      if (!accepted)
        problems.push(`${at}: the producer may send ${t}; business expects ${[...consumerTypes]}`);
    }
    if (problems.length) return problems;
  }

  const consumerValues = consumer.const !== undefined ? [consumer.const] : consumer.enum;
  if (consumerValues) {
    const producerValues = producer.const !== undefined ? [producer.const] : producer.enum;
    if (!producerValues) problems.push(`${at}: business accepts only ${JSON.stringify(consumerValues)}`);
    else
      for (const v of producerValues)
        if (!consumerValues.some((c) => JSON.stringify(c) === JSON.stringify(v)))
          problems.push(`${at}: the producer may send ${JSON.stringify(v)}, which business does not accept`);
  }
  if (consumer.pattern && consumer.pattern !== producer.pattern)
    problems.push(
      `${at}: business requires the pattern ${consumer.pattern}; the producer promises ${producer.pattern ?? "none"}`,
    );
  if (consumer.format && consumer.format !== producer.format)
    problems.push(
      `${at}: business requires format ${consumer.format}; the producer promises ${producer.format ?? "none"}`,
    );
  for (const [low, name] of [
    ["minimum", "minimum"],
    ["exclusiveMinimum", "exclusive minimum"],
    ["minLength", "minimum length"],
  ] as const)
    if (consumer[low] !== undefined && !((producer[low] ?? Number.NEGATIVE_INFINITY) >= consumer[low]))
      problems.push(
        `${at}: business requires a ${name} of ${consumer[low]}; the producer promises ${producer[low] ?? "none"}`,
      );
  for (const [high, name] of [
    ["maximum", "maximum"],
    ["exclusiveMaximum", "exclusive maximum"],
    ["maxLength", "maximum length"],
  ] as const)
    if (consumer[high] !== undefined && !((producer[high] ?? Number.POSITIVE_INFINITY) <= consumer[high]))
      problems.push(
        `${at}: business requires a ${name} of ${consumer[high]}; the producer promises ${producer[high] ?? "none"}`,
      );

  if (consumer.properties) {
    const required = new Set(consumer.required ?? []);
    for (const [key, c] of Object.entries(consumer.properties)) {
      const p = producer.properties?.[key];
      if (!p) {
        if (required.has(key))
          problems.push(`${at}.${key}: business reads it; the producer does not declare it`);
        continue;
      }
      if (required.has(key) && !(producer.required ?? []).includes(key))
        problems.push(`${at}.${key}: business requires it; the producer may leave it out`);
      problems.push(...incompatibilities(p, c, `${at}.${key}`));
    }
  }
  if (consumer.items) {
    if (!producer.items) problems.push(`${at}[]: the producer does not say what its items are`);
    else problems.push(...incompatibilities(producer.items, consumer.items, `${at}[]`));
  }
  return problems;
}
