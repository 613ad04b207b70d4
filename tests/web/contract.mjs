// Contract test: every operation of the served OpenAPI document is sent requests that
// produce each status it documents, on each database; every answer must have a documented
// status, the documented content type, a body valid against the documented schema (Ajv,
// JSON Schema 2020-12) or no body when none is documented, and every documented header.
// A documented status no request here produces fails the test, as does an answer whose
// status is not documented. A HEAD operation is sent its GET's requests, with HEAD.
import { randomBytes } from "node:crypto";
import { databases, freshDatabase, freePort, startService, check } from "./service.mjs";
import { schemaValidator } from "./schemas.mjs";

const unique = () => randomBytes(5).toString("hex");
const big = "x".repeat(1100 * 1024);  // over the 1 MiB body limit

async function send(base, { method, path, json, form, raw, contentType, token }) {
  const headers = {};
  let body;
  if (json !== undefined) [headers["content-type"], body] = ["application/json", JSON.stringify(json)];
  if (form !== undefined) [headers["content-type"], body] = ["application/x-www-form-urlencoded", new URLSearchParams(form).toString()];
  if (raw !== undefined) [headers["content-type"], body] = [contentType, raw];
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(base + path, { method, headers, body });
}

// Each operation: a request it answers with success, and the requests of the statuses
// only it can give. 401 (no token), 413 (a body too large) and 503 (the same request to an
// instance whose database is down) are made from its successful request.
function operations(s) {
  const item = (id) => `/items/${id}`;
  return {
    register_auth_register_post: {
      ok: () => ({ method: "POST", path: "/auth/register", json: { email: `new-${unique()}@example.com`, password: "secret-pass-1" } }),
      400: () => ({ method: "POST", path: "/auth/register", json: { email: s.email, password: "secret-pass-1" } }),
      422: () => ({ method: "POST", path: "/auth/register", json: [] }),
    },
    login_auth_token_post: {
      ok: () => ({ method: "POST", path: "/auth/token", form: { username: s.email, password: s.password } }),
      400: () => ({ method: "POST", path: "/auth/token", raw: "not multipart", contentType: "multipart/form-data; boundary=x" }),
      401: () => ({ method: "POST", path: "/auth/token", form: { username: s.email, password: "wrong-password" } }),
      422: () => ({ method: "POST", path: "/auth/token", form: {} }),
      // Run last: the client's failed logins (LOGIN_MAX_FAILURES_PER_CLIENT=4) run out.
      429: async (base) => {
        let r;
        for (let i = 0; i < 6; i++)
          r = await send(base, { method: "POST", path: "/auth/token", form: { username: `x-${unique()}@example.com`, password: "wrong" } });
        return r;
      },
    },
    refresh_tokens_auth_refresh_post: {
      ok: () => ({ method: "POST", path: "/auth/refresh", json: { refresh_token: s.refreshTokens.pop() } }),
      401: () => ({ method: "POST", path: "/auth/refresh", json: { refresh_token: "not-a-token" } }),
      422: () => ({ method: "POST", path: "/auth/refresh", json: {} }),
    },
    logout_auth_logout_post: {
      ok: () => ({ method: "POST", path: "/auth/logout", json: { refresh_token: s.refreshTokens.pop() } }),
      422: () => ({ method: "POST", path: "/auth/logout", json: [] }),
    },
    read_current_user_users_me_get: { ok: () => ({ method: "GET", path: "/users/me", token: s.token }) },
    delete_current_user_users_me_delete: {
      ok: () => ({ method: "DELETE", path: "/users/me", token: s.spareTokens.pop() }),
      403: () => ({ method: "DELETE", path: "/users/me", token: s.adminToken }),
    },
    update_user_me_users_me_patch: {
      ok: () => ({ method: "PATCH", path: "/users/me", json: { email: `renamed-${unique()}@example.com` }, token: s.otherToken }),
      409: () => ({ method: "PATCH", path: "/users/me", json: { email: s.email }, token: s.otherToken }),
      422: () => ({ method: "PATCH", path: "/users/me", json: { email: "not an address" }, token: s.otherToken }),
    },
    update_password_me_users_me_password_patch: {
      // Its success ends the token it was sent with: a user of its own.
      ok: () => ({ method: "PATCH", path: "/users/me/password", json: { current_password: "other-pass-1", new_password: "other-pass-2" }, token: s.passwordToken }),
      400: () => ({ method: "PATCH", path: "/users/me/password", json: { current_password: "wrong-password", new_password: "another-pass-1" }, token: s.token }),
      422: () => ({ method: "PATCH", path: "/users/me/password", json: { current_password: "owner-pass-1" }, token: s.token }),
      // Run last, as the login's: wrong current passwords are failed logins.
      429: async (base) => {
        let r;
        for (let i = 0; i < 6; i++)
          r = await send(base, { method: "PATCH", path: "/users/me/password", json: { current_password: "wrong", new_password: "another-pass-1" }, token: s.token });
        return r;
      },
    },
    read_users_users__get: {
      ok: () => ({ method: "GET", path: "/users/?limit=2", token: s.adminToken }),
      403: () => ({ method: "GET", path: "/users/", token: s.token }),
      422: () => ({ method: "GET", path: "/users/?limit=0", token: s.adminToken }),
    },
    create_user_users__post: {
      ok: () => ({ method: "POST", path: "/users/", json: { email: `made-${unique()}@example.com`, password: "made-pass-1", is_superuser: false }, token: s.adminToken }),
      403: () => ({ method: "POST", path: "/users/", json: { email: `made-${unique()}@example.com`, password: "made-pass-1" }, token: s.token }),
      409: () => ({ method: "POST", path: "/users/", json: { email: s.email, password: "made-pass-1" }, token: s.adminToken }),
      422: () => ({ method: "POST", path: "/users/", json: { email: `made-${unique()}@example.com` }, token: s.adminToken }),
    },
    update_user_users__user_id__patch: {
      ok: () => ({ method: "PATCH", path: `/users/${s.userId}`, json: { is_active: true }, token: s.adminToken }),
      403: () => ({ method: "PATCH", path: `/users/${s.adminId}`, json: { is_superuser: false }, token: s.adminToken }),
      404: () => ({ method: "PATCH", path: "/users/987654321", json: { is_active: true }, token: s.adminToken }),
      409: () => ({ method: "PATCH", path: `/users/${s.otherId}`, json: { email: s.email }, token: s.adminToken }),
      422: () => ({ method: "PATCH", path: `/users/${s.userId}`, json: { is_active: "maybe" }, token: s.adminToken }),
    },
    delete_user_users__user_id__delete: {
      ok: () => ({ method: "DELETE", path: `/users/${s.spareIds.pop()}`, token: s.adminToken }),
      403: () => ({ method: "DELETE", path: `/users/${s.adminId}`, token: s.adminToken }),
      404: () => ({ method: "DELETE", path: "/users/987654321", token: s.adminToken }),
      422: () => ({ method: "DELETE", path: "/users/abc", token: s.adminToken }),
    },
    read_user_users__user_id__get: {
      ok: () => ({ method: "GET", path: `/users/${s.userId}`, token: s.token }),
      404: () => ({ method: "GET", path: "/users/987654321", token: s.token }),
      422: () => ({ method: "GET", path: "/users/abc", token: s.token }),
    },
    create_item_items__post: {
      ok: () => ({ method: "POST", path: "/items/", json: { title: "Contract", description: "made by the contract test" }, token: s.token }),
      422: () => ({ method: "POST", path: "/items/", json: { description: "no title" }, token: s.token }),
    },
    list_items_items__get: {
      ok: () => ({ method: "GET", path: "/items/?skip=0&limit=5", token: s.token }),
      422: () => ({ method: "GET", path: "/items/?limit=-1", token: s.token }),
    },
    read_item_items__item_id__get: {
      ok: () => ({ method: "GET", path: item(s.itemId), token: s.token }),
      404: () => ({ method: "GET", path: item(987654321), token: s.token }),
      422: () => ({ method: "GET", path: item("abc"), token: s.token }),
    },
    update_item_items__item_id__patch: {
      ok: () => ({ method: "PATCH", path: item(s.itemId), json: { title: "Renamed" }, token: s.token }),
      404: () => ({ method: "PATCH", path: item(987654321), json: { title: "Renamed" }, token: s.token }),
      422: () => ({ method: "PATCH", path: item(s.itemId), json: [], token: s.token }),
    },
    delete_item_items__item_id__delete: {
      ok: () => ({ method: "DELETE", path: item(s.spareItems.pop()), token: s.token }),
      404: () => ({ method: "DELETE", path: item(987654321), token: s.token }),
      422: () => ({ method: "DELETE", path: item("abc"), token: s.token }),
    },
    health_check_health_get: { ok: () => ({ method: "GET", path: "/health" }) },
  };
}

function checkResponse(doc, validators, where, documented, response, text) {
  const status = String(response.status);
  const expected = documented.responses[status];
  check(expected, `${where}: answered ${status}, which the document does not list`);
  const media = expected.content?.["application/json"];
  if (media) {
    check((response.headers.get("content-type") ?? "").startsWith("application/json"), `${where}: content-type ${response.headers.get("content-type")}`);
    const validate = validators.compile(media.schema);
    const body = JSON.parse(text);
    check(validate(body), `${where}: body ${text.slice(0, 300)} does not match its schema: ${validators.errors(validate)}`);
  } else {
    check(text === "", `${where}: a body where none is documented: ${text.slice(0, 100)}`);
  }
  for (const [name, header] of Object.entries(expected.headers ?? {})) {
    const value = response.headers.get(name);
    if (header.required) check(value !== null, `${where}: no ${name} header`);
    if (value !== null) {
      const validate = validators.compile(header.schema);
      check(validate(value), `${where}: ${name}: ${value} does not match its schema`);
    }
  }
}

async function runOn(kind) {
  const db = freshDatabase(kind);
  const live = await startService({
    DATABASE_URL: db.url, LOGIN_MAX_FAILURES_PER_CLIENT: "4",
    FIRST_SUPERUSER: "admin@example.com", FIRST_SUPERUSER_PASSWORD: "admin-pass-1",
  });
  // The same secret, a database that is not there: every statement fails -> 503.
  const dead = await startService({ DATABASE_URL: `postgresql://nobody@127.0.0.1:${await freePort()}/none` }, { migrate: false });
  let exchanges = 0;
  try {
    const doc = await (await fetch(`${live.url}/openapi.json`)).json();
    const validators = schemaValidator(doc);
    const s = { email: `owner-${unique()}@example.com`, password: "owner-pass-1", spareTokens: [], spareItems: [], spareIds: [] };
    const post = (path, body, token) => send(live.url, { method: "POST", path, json: body, token });
    const tokens = async (email, password) =>
      (await send(live.url, { method: "POST", path: "/auth/token", form: { username: email, password } })).json();
    const login = async (email, password) => (await tokens(email, password)).access_token;
    s.userId = (await (await post("/auth/register", { email: s.email, password: s.password })).json()).id;
    s.token = await login(s.email, s.password);
    s.itemId = (await (await post("/items/", { title: "Kept" }, s.token)).json()).id;
    s.adminToken = await login("admin@example.com", "admin-pass-1");
    s.adminId = (await (await send(live.url, { method: "GET", path: "/users/me", token: s.adminToken })).json()).id;
    const other = `other-${unique()}@example.com`;
    s.otherId = (await (await post("/auth/register", { email: other, password: "other-pass-1" })).json()).id;
    s.otherToken = await login(other, "other-pass-1");
    const changing = `changing-${unique()}@example.com`;
    await post("/auth/register", { email: changing, password: "other-pass-1" });
    s.passwordToken = await login(changing, "other-pass-1");
    // Refresh tokens for the refresh and logout requests (a success, a 413 and a 503 each).
    s.refreshTokens = [];
    for (let i = 0; i < 6; i++) s.refreshTokens.push((await tokens(s.email, s.password)).refresh_token);
    // Each deleting operation's success, 401 and 503 requests take one of these (users of
    // their own for DELETE /users/me and DELETE /users/{user_id}).
    for (let i = 0; i < 3; i++) {
      s.spareItems.push((await (await post("/items/", { title: `Spare ${i}` }, s.token)).json()).id);
      const email = `spare-${unique()}@example.com`;
      await post("/auth/register", { email, password: "spare-pass-1" });
      s.spareTokens.push(await login(email, "spare-pass-1"));
      const deleted = { email: `deleted-${unique()}@example.com`, password: "spare-pass-1" };
      s.spareIds.push((await (await post("/auth/register", deleted)).json()).id);
    }

    const ops = operations(s);
    // Every GET operation has its HEAD (the same requests with HEAD; no body comes back).
    for (const [id, cases] of Object.entries({ ...ops })) {
      if (!id.endsWith("_get")) continue;
      const head = {};
      for (const [status, made] of Object.entries(cases)) head[status] = () => ({ ...made(), method: "HEAD" });
      ops[`${id.slice(0, -4)}_head`] = head;
    }
    const covered = [];
    const deferred = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, documented] of Object.entries(item)) {
        const cases = ops[documented.operationId];
        check(cases, `${documented.operationId}: no requests for it in the contract test`);
        for (const status of Object.keys(documented.responses)) {
          const where = `${kind}: ${method.toUpperCase()} ${path} -> ${status}`;
          const isSuccess = status.startsWith("2");
          let run;
          if (cases[status]) {
            const made = cases[status];
            // An async case sends its own requests (429); a plain one describes one request.
            run = made.constructor.name === "AsyncFunction" ? () => made(live.url) : () => send(live.url, made());
          } else if (isSuccess) run = () => send(live.url, cases.ok());
          else if (status === "401") run = () => send(live.url, { ...cases.ok(), token: undefined });
          else if (status === "413") run = () => send(live.url, { ...cases.ok(), json: undefined, raw: big, contentType: "application/json" });
          else if (status === "503") run = () => send(dead.url, cases.ok());
          else throw new Error(`${where}: documented, but the contract test has no request that produces it`);
          const exchange = async () => {
            const response = await run();
            const text = await response.text();
            check(String(response.status) === status, `${where}: answered ${response.status}: ${text.slice(0, 200)}`);
            checkResponse(doc, validators, where, documented, response, text);
            exchanges++;
            covered.push(`${method.toUpperCase()} ${path} ${status}`);
          };
          if (status === "429") deferred.push(exchange);
          else await exchange();
        }
      }
    }
    for (const exchange of deferred) await exchange();
    console.log(`${kind}: ${exchanges} documented responses produced and valid:\n  ${covered.join("\n  ")}`);
  } finally {
    await live.stop();
    await dead.stop();
    db.drop();
  }
}

for (const kind of databases()) await runOn(kind);
