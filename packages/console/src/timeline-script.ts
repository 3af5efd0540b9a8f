/**
 * The console's only script: the audit timeline follows new events over Server-Sent Events. Rows arrive
 * rendered (and escaped) by the server's template; the script only places them.
 */
export const TIMELINE_JS = `"use strict";
(() => {
  const body = document.getElementById("timeline");
  if (!body || !window.EventSource) return;
  const url = new URL(body.dataset.stream, location.href);
  url.searchParams.set("after", body.dataset.after || "0");
  const source = new EventSource(url);
  source.addEventListener("row", (m) => body.insertAdjacentHTML("afterbegin", m.data));
  document.documentElement.dataset.live = "connecting";
  source.addEventListener("open", () => { document.documentElement.dataset.live = "open"; });
})();
`;
