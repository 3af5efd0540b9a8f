/**
 * Pattern-based redaction of PII and secrets in strings, plus field-name rules for structured data.
 * Secrets and card numbers are always removed; emails and phone numbers only for callers without the
 * tool's PII scope.
 */

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// International or bracketed numbers only, so dates, amounts and ids are never mistaken for phones.
const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?|\(\d{2,4}\)[\s.-]?)\d{2,4}(?:[\s.-]?\d{2,4}){1,3}(?![\w])/g;
const CARD = /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g;
const SECRETS: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWTs
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/g, // payment-provider keys
  /\bpat-[a-z0-9]{2,4}-[A-Za-z0-9-]{8,}/g, // HubSpot private-app tokens
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/** Keys whose values are personal contact data, whatever they look like. */
const PII_KEY = /(^|_)(email|e_mail|phone|mobile|fax)(_|$)|^(email|phone|mobile)[A-Z]/i;
/** Keys whose values are credentials, whatever they look like. */
const SECRET_KEY = /(^|_)(password|passwd|secret|token|api_?key|authorization|private_?key)(_|$)/i;

export interface RedactionOptions {
  /** The caller holds the PII scope: emails and phone numbers pass. */
  allowPii: boolean;
}

export interface RedactionCounter {
  count: number;
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
  if (typeof value === "string") {
    if (SECRET_KEY.test(key)) {
      counter.count++;
      return "[redacted:secret]";
    }
    if (!opts.allowPii && PII_KEY.test(key)) {
      counter.count++;
      return "[redacted:pii]";
    }
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
