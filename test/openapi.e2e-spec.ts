import { fetchOpenApiDocument, operationsOf, routesWithoutSuccessSchema, validateOpenApi, type OpenApiDocument } from './support/openapi';
import { startRegistry, type TestRegistry } from './support/registry';

const ERROR_REF = '#/components/schemas/ErrorResponse';
const UPLOADS = ['PUT /v1/models/{name}/versions/{version}/files/{path}', 'PUT /v1/datasets/{name}/{version}/file'];

/** The document at /docs/openapi.json: valid OpenAPI, and complete enough that a client can be generated from it. */
describe('the OpenAPI document (embedded)', () => {
  let registry: TestRegistry;
  let document: OpenApiDocument;

  beforeAll(async () => {
    registry = await startRegistry('embedded');
    document = await fetchOpenApiDocument(registry.admin);
  });
  afterAll(() => registry?.close());

  it('passes a maintained OpenAPI validator, which refuses a document that breaks the specification', async () => {
    expect(await validateOpenApi(document)).toEqual({ valid: true });
    const broken = structuredClone(document) as unknown as { info?: unknown };
    delete broken.info;
    expect(await validateOpenApi(broken)).toMatchObject({ valid: false, errors: [expect.objectContaining({ params: { missingProperty: 'info' } })] });
  });

  it('documents a success schema for every route, and the check names a route that lacks one', () => {
    expect(operationsOf(document).length).toBeGreaterThan(40);
    expect(routesWithoutSuccessSchema(document)).toEqual([]);

    const stripped = structuredClone(document);
    stripped.paths['/v1/models/{name}'].get.responses['200'] = { description: 'no schema' };
    delete stripped.paths['/v1/audit'].get.responses['200'];
    expect(routesWithoutSuccessSchema(stripped).sort()).toEqual(['GET /v1/audit', 'GET /v1/models/{name}']);
  });

  it('gives every error answer the one error body, and every route that takes a token its 401', () => {
    const schemas = document.components.schemas!;
    expect(Object.keys(schemas).filter((name) => /error/i.test(name))).toEqual(['ErrorResponse']);
    expect(schemas.ErrorResponse).toMatchObject({ required: ['statusCode', 'error', 'message'] });

    for (const { route, operation } of operationsOf(document)) {
      // /health answers 503 with its own report: which of the two is down.
      const errors = Object.entries(operation.responses).filter(([status]) => /^[45]\d\d$/.test(status) && route !== 'GET /health');
      for (const [status, response] of errors) expect([route, status, response.content?.['application/json']?.schema]).toEqual([route, status, { $ref: ERROR_REF }]);
      if (operation.security?.length) expect([route, Object.keys(operation.responses)]).toEqual([route, expect.arrayContaining(['401', '503'])]);
      if (operation.requestBody?.content['application/json']) expect([route, Object.keys(operation.responses)]).toEqual([route, expect.arrayContaining(['400', '413', '415'])]);
    }
  });

  it('takes uploads as application/octet-stream binary bodies', () => {
    for (const upload of UPLOADS) {
      const operation = operationsOf(document).find(({ route }) => route === upload)?.operation;
      expect([upload, operation?.requestBody?.content]).toEqual([upload, { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }]);
    }
  });

  it('describes the bearer token as opaque, not a JWT', () => {
    const schemes = Object.values(document.components.securitySchemes ?? {});
    expect(schemes).toHaveLength(1);
    expect(schemes[0]).toMatchObject({ type: 'http', scheme: 'bearer', description: expect.stringContaining('opaque') });
    expect(schemes[0]).not.toHaveProperty('bearerFormat');
  });
});
