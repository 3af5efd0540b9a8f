import { type LookupAddress, lookup } from "node:dns";
import { request } from "node:https";
import { BlockList, isIP } from "node:net";

/** How the authorization server may reach client ID metadata documents. */
export interface ClientMetadataFetchOptions {
  /**
   * Fetch documents from https://localhost, 127.0.0.1 or [::1]: a client developed on this machine, and the
   * tests. Off by default, so a client_id cannot point the issuer at its own machine's services.
   */
  allowLoopback?: boolean;
  /** Extra certificate authorities (PEM) trusted for documents, e.g. a loopback test server's own. */
  ca?: string;
}

/** The largest document fetched (the draft suggests 5 KiB); oidc-provider is configured with the same. */
export const CLIENT_METADATA_MAX_BYTES = 5 * 1024;

/** How long a refused document URL is answered from memory (a fixed document is fetched again after). */
const REFUSAL_MEMORY_MS = 10_000;

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Addresses a public client's document never lives at: private, loopback, link-local, shared, reserved. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["::ffff:0:0", 96],
  ["64:ff9b::", 96],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, "ipv6");
}
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

const family = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

/** Why a fetch of a client ID metadata document was refused, in words safe to show the person signing in. */
export class ClientMetadataFetchError extends Error {}

/** Why `address` (what `hostname` resolved to) may not be fetched, if it may not. */
function refusal(hostname: string, address: string, loopbackName: boolean) {
  const allowed = loopbackName
    ? LOOPBACK.check(address, family(address))
    : !NOT_PUBLIC.check(address, family(address));
  if (allowed) return undefined;
  return new ClientMetadataFetchError(
    `${hostname} resolves to ${address}, a private, loopback or link-local address; only public addresses are fetched`,
  );
}

/**
 * The `fetch` oidc-provider uses for client ID metadata documents (its `clientIdMetadataDocument` feature
 * does the rest: the document's client_id must equal the URL, no shared secrets, a 5 KiB body limit, a
 * 2.5 s deadline through the signal it passes, caching per Cache-Control/Expires). This adds what it leaves
 * to the transport: https only; the address is checked when the socket connects (after DNS, so a name
 * that re-resolves to a private address is still refused) — public addresses only, or loopback when
 * allowed for a loopback name; redirects are refused rather than followed; the body is read up to the
 * size limit and no further; errors say what was wrong.
 */
export function createClientMetadataFetch(
  options: () => ClientMetadataFetchOptions,
): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const fetchOnce = (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const opts = options();
    if (url.protocol !== "https:") {
      return Promise.reject(
        new ClientMetadataFetchError(`${url.href} is not https; documents are fetched over https only`),
      );
    }
    const loopbackName = LOOPBACK_NAMES.has(url.hostname);
    if (loopbackName && !opts.allowLoopback) {
      return Promise.reject(
        new ClientMetadataFetchError(
          `${url.host} is this machine (loopback); loopback documents are not fetched`,
        ),
      );
    }
    // An address literal is connected to without a lookup, so it is checked here.
    const literal = url.hostname.replace(/^\[|\]$/g, "");
    const refusedLiteral = isIP(literal) ? refusal(literal, literal, loopbackName) : undefined;
    if (refusedLiteral) return Promise.reject(refusedLiteral);
    const guardedLookup = (
      hostname: string,
      lookupOptions: object,
      callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
    ) => {
      lookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
        if (err) {
          const reason = `${hostname} does not resolve (${err.code ?? err.message})`;
          return callback(new ClientMetadataFetchError(reason), []);
        }
        const refused = addresses
          .map(({ address }) => refusal(hostname, address, loopbackName))
          .find(Boolean);
        if (refused) return callback(refused, []);
        if ((lookupOptions as { all?: boolean }).all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, {
        method: "GET",
        headers,
        lookup: guardedLookup as never,
        ...(opts.ca ? { ca: opts.ca } : {}),
        signal: init.signal ?? undefined,
      });
      req.on("error", (err) => {
        if (err instanceof ClientMetadataFetchError) return reject(err);
        if (init.signal?.aborted) {
          return reject(new ClientMetadataFetchError(`${url.href} did not answer in time`));
        }
        reject(
          new ClientMetadataFetchError(
            `${url.host} could not be reached (${(err as NodeJS.ErrnoException).code ?? err.message})`,
          ),
        );
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return reject(
            new ClientMetadataFetchError(
              `${url.href} answered ${status} (a redirect); documents are fetched from the client_id URL itself, redirects are not followed`,
            ),
          );
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        const tooLarge = () =>
          new ClientMetadataFetchError(
            `${url.href} is larger than ${CLIENT_METADATA_MAX_BYTES} bytes; documents are limited to ${CLIENT_METADATA_MAX_BYTES / 1024} KiB`,
          );
        if (Number(res.headers["content-length"] ?? 0) > CLIENT_METADATA_MAX_BYTES) {
          res.destroy();
          return reject(tooLarge());
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > CLIENT_METADATA_MAX_BYTES) {
            res.destroy();
            return reject(tooLarge());
          }
          chunks.push(chunk);
        });
        res.on("error", () => reject(new ClientMetadataFetchError(`${url.href} did not answer in time`)));
        res.on("end", () => {
          const nullBody = status === 204 || status === 205 || status === 304;
          resolve(
            new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }),
          );
        });
      });
      req.end();
    });
  };
  // oidc-provider looks a failing client up twice (the request, then its error handler): a refusal is
  // remembered briefly, so a hostile document costs one fetch, not two (and a slow one one deadline).
  const refused = new Map<string, { error: ClientMetadataFetchError; until: number }>();
  return (input, init) => {
    const key = String(input);
    const now = Date.now();
    for (const [k, r] of refused) if (r.until <= now) refused.delete(k);
    const known = refused.get(key);
    if (known) return Promise.reject(known.error);
    return fetchOnce(input, init).catch((err: unknown) => {
      if (err instanceof ClientMetadataFetchError && refused.size < 1000) {
        refused.set(key, { error: err, until: Date.now() + REFUSAL_MEMORY_MS });
      }
      throw err;
    });
  };
}
