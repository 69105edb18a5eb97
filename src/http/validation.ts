import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

const base = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false } as const;
// Bodies are JSON and must be exactly right: "3" is not a quantity and unknown fields are refused.
const strict = addFormats.default(new Ajv({ ...base, coerceTypes: false }));
// Paths, query strings and headers are text: "?limit=10" is a number.
const coercing = addFormats.default(new Ajv({ ...base, coerceTypes: "array" }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === "body" ? strict : coercing).compile(schema);
