// Starting and stopping a real items-api process for the Node tests, on a free loopback
// port, with its own SQLite file or its own PostgreSQL database.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export const binary = process.argv[2] ?? process.env.ITEMS_API_BINARY;
if (!binary) throw new Error("usage: node <test>.mjs path/to/items-api");

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// The databases a test runs on: SQLite always, PostgreSQL when the suite started one.
export function databases() {
  const list = ["sqlite"];
  if (process.env.ITEMS_TEST_POSTGRES_URL) list.push("postgres");
  return list;
}

// A fresh, empty database of `kind`: { url, drop() }.
export function freshDatabase(kind) {
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "items-web-test-"));
    return { url: `sqlite:///${dir}/app.db`, drop: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = process.env.ITEMS_TEST_POSTGRES_URL;
  const name = `web_${randomBytes(6).toString("hex")}`;
  execFileSync("psql", [admin, "-qc", `CREATE DATABASE ${name}`], { stdio: "inherit" });
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => execFileSync("psql", [admin, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: "inherit" }),
  };
}

// Runs `items-api serve` with `env` (DATABASE_URL migrated first unless `migrate: false`);
// resolves once it answers HTTP. Returns { url, stop(), output() }.
export async function startService(env, { migrate = true } = {}) {
  const port = await freePort();
  const fullEnv = { ...process.env, HOST: "127.0.0.1", PORT: String(port), SECRET_KEY: "web-tests-secret-key-0123456789abcdef", ...env };
  if (migrate) execFileSync(binary, ["migrate", "up"], { env: fullEnv, stdio: ["ignore", "ignore", "inherit"] });
  const child = spawn(binary, ["serve"], { env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/health`);
      break;
    } catch {
      if (child.exitCode !== null) throw new Error(`items-api exited (${child.exitCode}):\n${output}`);
      if (i > 200) throw new Error(`items-api did not answer on ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

// Fails the test (exit status 1) with `message` unless `ok`.
export function check(ok, message) {
  if (!ok) throw new Error(message);
}
