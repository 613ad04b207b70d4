// CORS in a real browser (Debian's chromium via playwright-core): a page served from another
// loopback port calls the API. From the allowed origin the calls succeed — a JSON POST and
// a GET with Authorization, each after a preflight, and the page can read the exposed
// X-Request-ID; from a second, not allowed origin the browser blocks both (fetch rejects),
// although the service is up and answers.
import { createServer } from "node:http";
import { chromium } from "playwright-core";
import { check, freePort, freshDatabase, startService } from "./service.mjs";

function pageServer(port) {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>a frontend</title><p>frontend</p>");
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

const allowedPort = await freePort();
const deniedPort = await freePort();
const allowed = `http://127.0.0.1:${allowedPort}`;
const denied = `http://127.0.0.1:${deniedPort}`;
const pages = [await pageServer(allowedPort), await pageServer(deniedPort)];
const db = freshDatabase("sqlite");
const service = await startService({ DATABASE_URL: db.url, CORS_ORIGINS: allowed });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });

// Runs in the page: register (JSON: preflighted), log in (a form: a simple request), read
// /users/me with the token (Authorization: preflighted).
async function walkthrough({ api, email }) {
  const out = {};
  try {
    const reg = await fetch(`${api}/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password: "browser-pass-1" }),
    });
    out.register = reg.status;
    const login = await fetch(`${api}/auth/token`, { method: "POST", body: new URLSearchParams({ username: email, password: "browser-pass-1" }) });
    out.login = login.status;
    const token = (await login.json()).access_token;
    const me = await fetch(`${api}/users/me`, { headers: { Authorization: `Bearer ${token}` } });
    out.me = me.status;
    out.email = (await me.json()).email;
    out.requestId = me.headers.get("x-request-id");
  } catch (e) {
    out.error = `${e.name}: ${e.message}`;
  }
  return out;
}

async function blocked({ api }) {
  const results = {};
  for (const [name, path, init] of [
    ["get", "/blocked-probe", {}],
    ["register", "/auth/register", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }],
  ]) {
    try {
      const r = await fetch(`${api}${path}`, init);
      results[name] = `answered ${r.status}`;
    } catch (e) {
      results[name] = e.name;
    }
  }
  return results;
}

try {
  const context = await browser.newContext();
  const elsewhere = [];
  await context.route("**/*", (route) => {
    const origin = new URL(route.request().url()).origin;
    if ([allowed, denied, service.url].includes(origin)) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();

  await page.goto(allowed);
  const ok = await page.evaluate(walkthrough, { api: service.url, email: `cors-${Date.now()}@example.com` });
  check(!ok.error, `from the allowed origin the browser refused: ${ok.error}`);
  check(ok.register === 201 && ok.login === 200 && ok.me === 200, `from the allowed origin: ${JSON.stringify(ok)}`);
  check(ok.email.startsWith("cors-") && /^[0-9a-f]{32}$/.test(ok.requestId ?? ""), `the page could not read the answer: ${JSON.stringify(ok)}`);

  await page.goto(denied);
  const no = await page.evaluate(blocked, { api: service.url });
  check(no.get === "TypeError" && no.register === "TypeError", `from a not allowed origin the browser let through: ${JSON.stringify(no)}`);
  // The service did answer the blocked GET (a simple request, not preflighted): it is the
  // browser that kept the answer from the page.
  check(service.output().includes('"path":"/blocked-probe"'), "the service never saw the blocked request");

  check(elsewhere.length === 0, `requests to other hosts: ${elsewhere.join(", ")}`);
  console.log(`allowed origin: ${JSON.stringify(ok)}; not allowed: ${JSON.stringify(no)}`);
} finally {
  await browser.close();
  await service.stop();
  for (const p of pages) p.close();
  db.drop();
}
