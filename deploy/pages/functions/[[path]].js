// Cloudflare Pages Function: everything that is not a static file (see _routes.json) goes to the
// Rust backend (App Runner), so the site has one origin — cookies, the server's Origin check and
// the pages' links all see the Pages domain. BACKEND_URL is the stack's BackendUrl output, set as
// a Pages environment variable by the deploy workflow.
export async function onRequest({ request, env }) {
  if (!env.BACKEND_URL) {
    return new Response("BACKEND_URL is not set for this Pages project", { status: 500 });
  }
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, env.BACKEND_URL);
  const headers = new Headers(request.headers);
  headers.set("x-forwarded-host", url.host);
  headers.set("x-forwarded-proto", "https");
  return fetch(target, {
    method: request.method,
    headers,
    body: ["GET", "HEAD"].includes(request.method) ? undefined : request.body,
    redirect: "manual",
  });
}
