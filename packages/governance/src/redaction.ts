/**
 * Pattern-based redaction of PII and secrets in strings, plus field-name rules for structured data.
 * Secrets and card numbers are always removed; emails and phone numbers only for callers without the
 * tool's PII scope.
 */

// Bounded quantifiers keep every pattern linear: an unbounded `[…]+@` is quadratic on a long string
// without an @ (a 200 KB argument stalled the server for minutes).
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
// International or bracketed numbers only, so dates, amounts and ids are never mistaken for phones.
const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?|\(\d{2,4}\)[\s.-]?)\d{2,4}(?:[\s.-]?\d{2,4}){1,3}(?![\w])/g;
// Card numbers as people write them: 13-19 digits in one run, or groups of four with one consistent
// separator (Amex 4-6-5 too). Looser patterns took two ISO dates in a row for a card. A run inside a word
// is no card: a SHA-256 in hex can start with a Luhn-valid run of digits (a content hash was redacted).
const CARD =
  /(?<![0-9A-Za-z-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5})(?![0-9A-Za-z-])/g;
const SECRETS: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{5,16384}\.[A-Za-z0-9_-]{0,4096}/g, // JWTs
  /\bBearer\s{1,8}[A-Za-z0-9._~+/=-]{8,4096}/gi,
  /\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/g, // payment-provider keys
  /\bpat-[a-z0-9]{2,4}-[A-Za-z0-9-]{8,}/g, // HubSpot private-app tokens
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[\s\S]{0,16384}?-----END [A-Z ]{0,20}PRIVATE KEY-----/g,
];

/** The words of a key, whether snake_case, kebab-case or camelCase: `customerEmail` → customer, email. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[_\-.\s]+/)
    .filter(Boolean);
}

/** Keys whose values are personal contact data, whatever they look like. */
function isPiiKey(key: string): boolean {
  return keyWords(key).some(
    (w) => w === "email" || w === "phone" || w === "mobile" || w === "fax" || w === "telephone",
  );
}

/** Keys whose values are credentials, whatever they look like (a page token or cursor is not one). */
function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  const has = (w: string) => words.includes(w);
  if (has("page") || has("cursor")) return false;
  return (
    has("password") ||
    has("passwd") ||
    has("secret") ||
    has("apikey") ||
    has("authorization") ||
    has("bearer") ||
    (has("api") && has("key")) ||
    (has("private") && has("key")) ||
    has("token")
  );
}

export interface RedactionOptions {
  /** The caller holds the PII scope: emails and phone numbers pass. */
  allowPii: boolean;
}

export interface RedactionCounter {
  count: number;
}

function isCardNumber(n: number): boolean {
  const digits = String(n);
  return Number.isSafeInteger(n) && /^\d{13,19}$/.test(digits) && luhnValid(digits);
}

function redactedCard(counter: RedactionCounter): string {
  counter.count++;
  return "[redacted:card]";
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function redactString(text: string, opts: RedactionOptions, counter: RedactionCounter): string {
  let out = text;
  for (const pattern of SECRETS) {
    out = out.replace(pattern, () => {
      counter.count++;
      return "[redacted:secret]";
    });
  }
  out = out.replace(CARD, (m) => {
    const digits = m.replace(/\D/g, "");
    if (digits.length < 13 || !luhnValid(digits)) return m;
    counter.count++;
    return "[redacted:card]";
  });
  if (!opts.allowPii) {
    out = out.replace(EMAIL, () => {
      counter.count++;
      return "[redacted:email]";
    });
    out = out.replace(PHONE, () => {
      counter.count++;
      return "[redacted:phone]";
    });
  }
  return out;
}

/** Redacts a JSON-like value in place of a copy: by key name first, then by pattern in every string. */
export function redactValue(
  value: unknown,
  opts: RedactionOptions,
  counter: RedactionCounter,
  key = "",
): unknown {
  if (typeof value === "string" || typeof value === "number") {
    if (key && isSecretKey(key)) {
      counter.count++;
      return "[redacted:secret]";
    }
    if (!opts.allowPii && key && isPiiKey(key)) {
      counter.count++;
      return "[redacted:pii]";
    }
    // A number is only a risk when it is a card number; it then leaves as a marker, not as digits.
    if (typeof value === "number") return isCardNumber(value) ? redactedCard(counter) : value;
    return redactString(value, opts, counter);
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, opts, counter, key));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, opts, counter, k);
    return out;
  }
  return value;
}

/** Longest string kept whole in an audit event; longer ones keep a prefix and their length. */
export const AUDIT_STRING_LIMIT = 512;

/**
 * Arguments as the audit trail stores them: PII and secrets redacted, long strings truncated, so an
 * event stays small and never holds what it must not.
 */
export function redactForAudit(value: unknown): unknown {
  // Redact first: truncating first could cut an email or card in half and let the rest through.
  return truncateStrings(redactValue(value, { allowPii: false }, { count: 0 }));
}

function truncateStrings(value: unknown): unknown {
  if (typeof value === "string") {
    return value.length > AUDIT_STRING_LIMIT ? `${value.slice(0, 128)}…[${value.length} chars]` : value;
  }
  if (Array.isArray(value)) return value.slice(0, 100).map(truncateStrings);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .slice(0, 100)
        .map(([k, v]) => [k.slice(0, 128), truncateStrings(v)]),
    );
  }
  return value;
}
