// JSON Schema 2020-12 validation of the document's schemas with Ajv (strict mode), their
// "#/components/schemas/X" references resolved against the document's components.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

export function schemaValidator(document) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  const rewrite = (value) =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"components#/$defs/'));
  ajv.addSchema({ $id: "components", $defs: rewrite(document.components.schemas) });
  const cache = new Map();
  return {
    compile(schema) {
      const key = JSON.stringify(schema);
      if (!cache.has(key)) cache.set(key, ajv.compile(rewrite(schema)));
      return cache.get(key);
    },
    errors(validate) {
      return ajv.errorsText(validate.errors);
    },
  };
}
