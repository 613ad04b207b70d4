// The service's OpenAPI document is valid OpenAPI 3.1: checked by
// @seriousme/openapi-schema-validator (the OpenAPI Initiative's JSON Schemas for 3.1 run by
// Ajv), every schema in it compiles as JSON Schema 2020-12 under Ajv's strict mode, and every
// default validates against its own schema.
// A broken copy of the document must fail, so the validator is seen to judge.
import { execFileSync } from "node:child_process";
import { Validator } from "@seriousme/openapi-schema-validator";
import { binary, check } from "./service.mjs";
import { schemaValidator } from "./schemas.mjs";

const text = execFileSync(binary, ["openapi"], { encoding: "utf8" });
const document = JSON.parse(text);

const validator = new Validator();
const result = await validator.validate(structuredClone(document));
check(result.valid, `not valid OpenAPI: ${JSON.stringify(result.errors, null, 2)}`);
check(validator.version === "3.1", `validated as ${validator.version}, not 3.1`);

// Every schema compiles (strict: unknown keywords, bad types and bad $refs are errors).
const schemas = schemaValidator(document);
let compiled = 0;
for (const [path, item] of Object.entries(document.paths)) {
  for (const [method, op] of Object.entries(item)) {
    for (const [status, response] of Object.entries(op.responses)) {
      const schema = response.content?.["application/json"]?.schema;
      if (schema) (schemas.compile(schema), compiled++);
    }
    const body = op.requestBody?.content ?? {};
    for (const media of Object.values(body)) (schemas.compile(media.schema), compiled++);
    for (const p of op.parameters ?? []) (schemas.compile(p.schema), compiled++);
  }
}
check(compiled > 30, `only ${compiled} schemas compiled`);

// Every default validates against its own schema: Ajv does not check defaults, and one its
// schema refuses (a "" under minLength 1) misleads clients and fails openapi-spec-validator.
function badDefaults(doc) {
  const validators = schemaValidator(doc);
  const keywords = ["type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"];
  const found = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
    if (!node || typeof node !== "object") return;
    if ("default" in node && keywords.some((k) => k in node)) found.push([where, node]);
    for (const [key, value] of Object.entries(node)) if (key !== "default") walk(value, `${where}/${key}`);
  };
  walk(doc, "#");
  const bad = [];
  for (const [where, { default: value, ...schema }] of found) {
    const validate = validators.compile(schema);
    if (!validate(value)) bad.push(`${where}: default ${JSON.stringify(value)}: ${validators.errors(validate)}`);
  }
  return { checked: found.length, bad };
}
const defaults = badDefaults(document);
check(defaults.bad.length === 0, `defaults their schemas refuse:\n  ${defaults.bad.join("\n  ")}`);
check(defaults.checked >= 4, `only ${defaults.checked} defaults found`);
const spoiled = structuredClone(document);
spoiled.components.schemas.ItemUpdate.properties.title.default = "";
check(badDefaults(spoiled).bad.length === 1, "a default of \"\" under minLength 1 was not caught");

// Negative controls: the validator rejects broken copies.
for (const [what, spoil] of [
  ["a parameter without `in`", (d) => delete d.paths["/items/"].get.parameters[0].in],
  ["info without a title", (d) => delete d.info.title],
]) {
  const broken = structuredClone(document);
  spoil(broken);
  const r = await new Validator().validate(broken);
  check(!r.valid, `the validator accepted ${what}`);
}
// The OpenAPI schema leaves schema objects to the JSON Schema dialect: Ajv judges those.
let rejected = false;
try {
  schemaValidator(document).compile({ type: "object", properties: { id: { type: 42 } } });
} catch {
  rejected = true;
}
check(rejected, "Ajv compiled a schema whose type is a number");
console.log(`valid OpenAPI ${document.openapi}; ${compiled} schemas compiled; ${defaults.checked} defaults valid; broken copies rejected`);
