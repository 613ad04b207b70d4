// The README's walkthrough, through a client generated from the service's OpenAPI document:
// openapi-typescript writes ./api.d.ts from it (client.mjs), openapi-fetch makes the typed
// calls, and tsc type-checks this file against the generated types before it runs. A
// renamed field, a missing operation or a wrong body type in the document fails here.
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

declare const process: { argv: string[] };  // (no @types/node needed for one line)

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

const baseUrl = process.argv[2];
const api = createClient<paths>({ baseUrl });
const email = `ann-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

const registered = await api.POST("/auth/register", { body: { email, password: "secret123" } });
check(registered.response.status === 201 && registered.data !== undefined, `register: ${registered.response.status}`);
check(registered.data.email === email && registered.data.is_active, `register: ${JSON.stringify(registered.data)}`);

const login = await api.POST("/auth/token", {
  body: { username: email, password: "secret123" },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
check(login.data !== undefined && login.data.token_type === "bearer", `login: ${login.response.status}`);
const headers = { Authorization: `Bearer ${login.data.access_token}` };

const created = await api.POST("/items/", { headers, body: { title: "First item", description: "made with curl" } });
check(created.response.status === 201 && created.data !== undefined, `create: ${created.response.status}`);
const item = created.data;
check(item.owner_id === registered.data.id && item.description === "made with curl", `create: ${JSON.stringify(item)}`);

const listed = await api.GET("/items/", { headers, params: { query: { limit: 10 } } });
check(listed.data !== undefined && listed.data.length === 1 && listed.data[0].id === item.id, `list: ${JSON.stringify(listed.data)}`);

const renamed = await api.PATCH("/items/{item_id}", { headers, params: { path: { item_id: item.id } }, body: { title: "Renamed" } });
check(renamed.data?.title === "Renamed" && renamed.data.description === "made with curl", `update: ${JSON.stringify(renamed.data)}`);

const me = await api.GET("/users/me", { headers });
check(me.data !== undefined && me.data.email === email && me.data.items.length === 1, `me: ${JSON.stringify(me.data)}`);

const deleted = await api.DELETE("/items/{item_id}", { headers, params: { path: { item_id: item.id } } });
check(deleted.response.status === 204, `delete: ${deleted.response.status}`);

// A documented error, typed as the document's HTTPError.
const gone = await api.GET("/items/{item_id}", { headers, params: { path: { item_id: item.id } } });
check(gone.response.status === 404 && gone.error?.detail === "Item not found", `read deleted: ${JSON.stringify(gone.error)}`);

// A superuser (FIRST_SUPERUSER, made by `migrate up`; client.mjs sets it) sees every account.
const adminLogin = await api.POST("/auth/token", {
  body: { username: "admin@example.com", password: "admin-pass-1" },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
check(adminLogin.data !== undefined, `admin login: ${adminLogin.response.status}`);
const admin = { Authorization: `Bearer ${adminLogin.data.access_token}` };
const users = await api.GET("/users/", { headers: admin, params: { query: { limit: 100 } } });
check(users.data !== undefined && users.data.some((u) => u.email === email && !u.is_superuser && u.created_at !== null),
      `users: ${JSON.stringify(users.data)}`);
check(Number(users.response.headers.get("x-total-count")) >= 2, `users: X-Total-Count ${users.response.headers.get("x-total-count")}`);
const notAdmin = await api.GET("/users/", { headers });
check(notAdmin.response.status === 403, `users as a user: ${notAdmin.response.status}`);

// A refresh token for new tokens (each good once), and a logout that ends its family.
check(login.data.refresh_token.length === 43 && login.data.expires_in === 1800, `login: ${JSON.stringify(login.data)}`);
const refreshed = await api.POST("/auth/refresh", { body: { refresh_token: login.data.refresh_token } });
check(refreshed.data !== undefined && refreshed.data.refresh_token !== login.data.refresh_token, `refresh: ${refreshed.response.status}`);
const again = await api.POST("/auth/refresh", { body: { refresh_token: login.data.refresh_token } });
check(again.response.status === 401, `refresh with a used token: ${again.response.status}`);
const loggedOut = await api.POST("/auth/logout", { body: { refresh_token: refreshed.data.refresh_token } });
check(loggedOut.response.status === 204, `logout: ${loggedOut.response.status}`);

// A new password ends the tokens issued before it.
const changed = await api.PATCH("/users/me/password", { headers, body: { current_password: "secret123", new_password: "secret456" } });
check(changed.data?.message === "Password updated successfully", `password: ${JSON.stringify(changed.error)}`);
const refused = await api.GET("/users/me", { headers });
check(refused.response.status === 401, `old token after a password change: ${refused.response.status}`);

console.log(`walkthrough passed for ${email}`);
