// Generates a TypeScript client from the service's document with openapi-typescript (its
// CLI, as a user runs it; --default-non-nullable false keeps fields that have a default,
// such as the login form's grant_type, optional in request bodies, as they are), type-checks client/walkthrough.ts against it with tsc, and runs
// the walkthrough against a real service on each database.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { binary, databases, freshDatabase, startService } from "./service.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), "items-client-"));
try {
  writeFileSync(join(work, "openapi.json"), execFileSync(binary, ["openapi"]));
  symlinkSync(join(here, "node_modules"), join(work, "node_modules"));
  writeFileSync(join(work, "package.json"), JSON.stringify({ type: "module" }));
  execFileSync("node", [join(here, "node_modules/openapi-typescript/bin/cli.js"), join(work, "openapi.json"), "-o", join(work, "api.d.ts"), "--default-non-nullable", "false"], { stdio: "inherit" });
  copyFileSync(join(here, "client/walkthrough.ts"), join(work, "walkthrough.ts"));
  writeFileSync(join(work, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, outDir: "out", types: [] },
    files: ["walkthrough.ts"],
  }));
  execFileSync("node", [join(here, "node_modules/typescript/bin/tsc"), "-p", work], { stdio: "inherit" });
  for (const kind of databases()) {
    const db = freshDatabase(kind);
    const service = await startService({
      DATABASE_URL: db.url, FIRST_SUPERUSER: "admin@example.com", FIRST_SUPERUSER_PASSWORD: "admin-pass-1",
    });
    try {
      execFileSync("node", [join(work, "out/walkthrough.js"), service.url], { stdio: "inherit" });
      console.log(`${kind}: the generated client ran the walkthrough`);
    } finally {
      await service.stop();
      db.drop();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
