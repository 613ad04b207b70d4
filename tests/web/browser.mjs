// The docs pages in a real browser (Debian's chromium, driven by playwright-core): Swagger UI
// at /docs authorizes with the password flow as a registered user and runs GET /users/me
// through "Try it out"; ReDoc at /redoc lists every operation. Fails if either page asks
// anything of another host (such requests are also blocked, so nothing leaves the machine),
// or throws. Screenshots of both pages go to ITEMS_SCREENSHOTS_DIR (build/test/screenshots).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { check, freshDatabase, startService } from "./service.mjs";

const shots = process.env.ITEMS_SCREENSHOTS_DIR ?? "screenshots";
mkdirSync(shots, { recursive: true });
const db = freshDatabase("sqlite");
const service = await startService({ DATABASE_URL: db.url });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const email = `docs-${Date.now()}@example.com`;
  const password = "docs-pass-123";
  const registered = await fetch(`${service.url}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  check(registered.status === 201, `register: ${registered.status}`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const elsewhere = [];
  const failures = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin === service.url) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && failures.push(`${r.status()} ${r.url()}`));

  // Swagger UI: Authorize (password flow), then Try it out on GET /users/me.
  await page.goto(`${service.url}/docs`);
  await page.locator(".swagger-ui .info .title").waitFor();
  await page.locator(".auth-wrapper button.authorize").click();
  await page.locator("#oauth_username").fill(email);
  await page.locator("#oauth_password").fill(password);
  await page.locator(".modal-ux .auth-btn-wrapper button.authorize").click();
  // Swagger UI posted the form to /auth/token and shows the scheme as authorized.
  await page.locator(".modal-ux").getByText("Authorized", { exact: true }).first().waitFor({ timeout: 15000 });
  await page.locator(".modal-ux button.btn-done").click();
  const operation = page.locator("#operations-users-read_current_user_users_me_get");
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();
  const result = operation.locator(".live-responses-table .response .response-col_status").first();
  await result.waitFor();
  check((await result.innerText()).trim() === "200", `Try it out answered ${await result.innerText()}`);
  const body = await operation.locator(".live-responses-table .response-col_description pre").first().innerText();
  check(body.includes(email), `Try it out's body does not show the e-mail: ${body}`);
  await operation.locator(".live-responses-table").first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "swagger-ui.png"), fullPage: false });

  // ReDoc: every operation of the document, each under a heading of its summary.
  const document = await (await fetch(`${service.url}/openapi.json`)).json();
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
  await page.goto(`${service.url}/redoc`);
  await page.locator(".menu-content").waitFor();
  await page.locator('[data-section-id="operation/read_current_user_users_me_get"]').waitFor();
  const headings = await page.evaluate(() => [...document.querySelectorAll("h2")].map((h) => h.textContent.trim()));
  for (const op of operations) {
    check(headings.includes(op.summary), `ReDoc shows no heading ${op.summary}`);
    check(await page.locator(`[data-section-id="operation/${op.operationId}"]`).count() === 1, `ReDoc has no section for ${op.operationId}`);
  }
  await page.screenshot({ path: join(shots, "redoc.png"), fullPage: false });

  check(elsewhere.length === 0, `the pages asked other hosts for: ${elsewhere.join(", ")}`);
  check(failures.length === 0, `the pages had errors: ${failures.join("; ")}`);
  console.log(`Swagger UI authorized and ran GET /users/me (${email}); ReDoc shows ${operations.length} operations; screenshots in ${shots}`);
} catch (e) {
  for (const p of browser.contexts().flatMap((c) => c.pages()))
    await p.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
  throw e;
} finally {
  await browser.close();
  await service.stop();
  db.drop();
}
