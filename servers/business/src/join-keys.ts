/**
 * The join keys between systems, explicit:
 * - CRM company ↔ orders customer: the web domain. Domains are compared normalised (trimmed, lower-case,
 *   no scheme, no leading "www.", no trailing dot or path). A company may list extra domains
 *   (HubSpot's hs_additional_domains); a customer matches if its domain equals any of them.
 * - orders customer ↔ ticket drafts: the customer id (CUST-…) a draft links to.
 */
export function normalizeDomain(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let d = raw.trim().toLowerCase();
  d = d
    .replace(/^[a-z]+:\/\//, "")
    .replace(/[/?#].*$/, "")
    .replace(/\.$/, "")
    .replace(/^www\./, "");
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d) ? d : null;
}

/** Every normalised domain a company answers to. */
export function companyDomains(primary: string | null | undefined, additional: string[] = []): string[] {
  return [...new Set([primary, ...additional].map(normalizeDomain).filter((d): d is string => d !== null))];
}

export function sameAccount(domains: string[], candidate: string | null | undefined): boolean {
  const d = normalizeDomain(candidate);
  return d !== null && domains.includes(d);
}
