/**
 * The identity assertions (ID-JAGs) already redeemed, by issuer and jti, until they expire: an assertion is
 * single use (RFC 7521 §5.2 lets the authorization server refuse a replay; the enterprise-managed
 * authorization profile relies on it). In memory: one sandbox issuer process holds every redemption.
 * A deployment with several authorization server replicas needs this in a shared store.
 */
export class AssertionReplayGuard {
  private readonly seen = new Map<string, number>();

  /** Records `jti` from `issuer` as used until `exp` (seconds); false when it was used already. */
  use(issuer: string, jti: string, exp: number): boolean {
    const now = Math.floor(Date.now() / 1000);
    for (const [key, until] of this.seen) if (until < now) this.seen.delete(key);
    const key = `${issuer} ${jti}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, exp);
    return true;
  }
}
