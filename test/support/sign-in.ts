/**
 * The browser half of an OAuth authorization-code flow against the sandbox issuer: a small user agent
 * that keeps cookies, follows redirects while they stay on the issuer, and submits the sign-in and consent
 * forms the way a person would. It stops at the first redirect that leaves the issuer (the client's
 * callback) and returns it, so the test's MCP client can finish the flow exactly as it would in a browser.
 */
export class SignInBrowser {
  private readonly cookies = new Map<string, string>();
  /** The HTML of every page shown, for assertions about what the person saw. */
  readonly pages: string[] = [];

  private readonly issuer: string;

  constructor(issuer: string) {
    this.issuer = issuer;
  }

  private async request(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const res = await fetch(url, {
      method: init.method ?? "GET",
      redirect: "manual",
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
        ...(init.form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }

  /**
   * Goes to `url`, following redirects within the issuer. Returns the page the person lands on, or the
   * off-issuer location the issuer redirected to.
   */
  async visit(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ status: number; page?: string; redirect?: URL }> {
    let res = await this.request(url, init);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      const location = new URL(res.headers.get("location") ?? "", url);
      if (location.origin !== new URL(this.issuer).origin) return { status: res.status, redirect: location };
      if (hops > 10) throw new Error("too many redirects on the issuer");
      url = location.href;
      res = await this.request(url);
    }
    const page = await res.text();
    this.pages.push(page);
    // oidc-provider's own interstitials (ending the previous person's session) submit themselves with a
    // script; a browser would run it, so do what it does.
    if (page.includes("document.forms[0].submit()")) {
      const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
      const fields = Object.fromEntries(
        [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      if (action)
        return this.visit(new URL(action.replace(/&amp;/g, "&"), url).href, { method: "POST", form: fields });
    }
    return { status: res.status, page };
  }

  /** Submits the form on `page` whose action ends with `/<step>`, as a person pressing its button. */
  submit(page: string, step: "login" | "consent" | "abort", fields: Record<string, string> = {}) {
    const action = new RegExp(`action="([^"]*/${step})"`).exec(page)?.[1];
    if (!action) throw new Error(`no ${step} form on this page:\n${page.slice(0, 2000)}`);
    return this.visit(new URL(action.replace(/&amp;/g, "&"), this.issuer).href, {
      method: "POST",
      form: fields,
    });
  }
}

/**
 * Signs `user` in at `authorizationUrl` and answers the consent screen. Returns the client callback URL
 * the issuer sends the browser to (with `code` and `iss`, or with `error`).
 */
export async function signIn(
  authorizationUrl: URL | string,
  user: string,
  opts: { consent?: "allow" | "deny"; browser?: SignInBrowser } = {},
): Promise<{ callback: URL; browser: SignInBrowser }> {
  const url = new URL(authorizationUrl);
  const browser = opts.browser ?? new SignInBrowser(url.origin);
  let step = await browser.visit(url.href);
  // Answer pages until the issuer sends the browser back to the client. Switching from one signed-in
  // person to another ends the first session, after which the issuer asks who is signing in again.
  for (let pages = 0; step.page && pages < 6; pages++) {
    if (step.page.includes('/login"')) step = await browser.submit(step.page, "login", { user });
    // A person whose role allows nothing there can only go back.
    else if (step.page.includes("cannot use this server")) step = await browser.submit(step.page, "abort");
    else if (step.page.includes('/consent"'))
      step = await browser.submit(step.page, "consent", { decision: opts.consent ?? "allow" });
    else break;
  }
  if (!step.redirect)
    throw new Error(`sign-in did not return to the client (HTTP ${step.status}):\n${step.page}`);
  return { callback: step.redirect, browser };
}
