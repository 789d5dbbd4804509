import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ApiClient, ApiResponse } from './api-client';

/** The parts of an OpenAPI 3.0 document these checks read. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, Record<string, unknown>> };
}

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

type Schema = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
const SCHEMA_REF = '#/components/schemas/';
const COMPONENTS_ID = 'gatehouse-openapi';

export async function fetchOpenApiDocument(client: ApiClient): Promise<OpenApiDocument> {
  const response = await client.get<OpenApiDocument>('/docs/openapi.json');
  if (response.status !== 200) throw new Error(`GET /docs/openapi.json: ${response.status}`);
  return response.body;
}

// The validator is an ES module, which Jest's CommonJS runtime cannot load: it runs in a Node process of its own.
const VALIDATE_STDIN = `
import { Validator } from '@seriousme/openapi-schema-validator';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
process.stdout.write(JSON.stringify(await new Validator().validate(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
`;

/** Checks `document` against the OpenAPI specification's own schema, with @seriousme/openapi-schema-validator. */
export function validateOpenApi(document: unknown): Promise<{ valid: boolean; errors?: ErrorObject[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', VALIDATE_STDIN], { cwd: join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(Buffer.concat(out).toString('utf8'))) : reject(new Error(`the OpenAPI validator exited ${code}: ${Buffer.concat(err).toString('utf8')}`)),
    );
    child.stdin.end(JSON.stringify(document));
  });
}

/** Every operation in the document as `METHOD /path`, with the operation itself. */
export function operationsOf(document: OpenApiDocument): { route: string; path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ route: `${method.toUpperCase()} ${path}`, path, method, operation: item[method] })),
  );
}

/** The routes whose success answer is undocumented: no 2xx response, or one with a body but no schema for it. A 204 has no body to describe. */
export function routesWithoutSuccessSchema(document: OpenApiDocument): string[] {
  return operationsOf(document)
    .filter(({ operation }) => {
      const successes = Object.entries(operation.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      return !successes.some(([status, response]) => status === '204' || Object.values(response.content ?? {}).some((media) => media.schema));
    })
    .map(({ route }) => route);
}

/**
 * OpenAPI 3.0 says `nullable: true` where JSON Schema allows `null` by name; Ajv reads only the latter.
 * References are pointed at the components schema registered under {@link COMPONENTS_ID}.
 */
function toJsonSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchema);
  if (!value || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Schema;
  const converted = Object.fromEntries(
    Object.entries(rest).map(([key, child]) => [
      key,
      key === '$ref' && typeof child === 'string' ? child.replace(SCHEMA_REF, `${COMPONENTS_ID}${SCHEMA_REF}`) : toJsonSchema(child),
    ]),
  );
  // A field the API sends but the document leaves out is a gap in the document: described objects are closed.
  if (converted.properties && converted.additionalProperties === undefined) converted.additionalProperties = false;
  // As OpenAPI tools read it, also beside allOf: a nullable reference is null or the referenced schema.
  return nullable === true ? { anyOf: [converted, { type: 'null' }] } : converted;
}

/**
 * Checks answers against the schemas the document gives them, so an e2e suite that drives a flow also proves
 * the document describes what the API really sends.
 */
export class OpenApiContract {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv.addSchema({ $id: COMPONENTS_ID, components: { schemas: toJsonSchema(document.components.schemas ?? {}) } });
  }

  static async of(client: ApiClient): Promise<OpenApiContract> {
    return new OpenApiContract(await fetchOpenApiDocument(client));
  }

  /** Throws unless `response`'s status is documented for `method path` (a template, `/v1/models/{name}`) and its JSON body fits that schema. */
  check(method: string, path: string, response: ApiResponse): void {
    const route = `${method.toUpperCase()} ${path}`;
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${route} is not in the OpenAPI document`);
    const documented = operation.responses[String(response.status)];
    if (!documented) throw new Error(`${route} answered ${response.status}, which its OpenAPI operation does not document (${Object.keys(operation.responses).join(', ')})`);
    const schema = documented.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${route} ${response.status} has no application/json schema in the OpenAPI document`);
    const key = `${route} ${response.status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema) as Schema);
      this.validators.set(key, validate);
    }
    if (!validate(response.body)) {
      throw new Error(`${route} ${response.status} does not match its documented schema: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`);
    }
  }
}
