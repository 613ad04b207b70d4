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

console.log(`walkthrough passed for ${email}`);
