import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse } from '@nestjs/swagger';

const BINARY = { type: 'string', format: 'binary' } as const;

/** A route that streams its raw request body (a file upload), whatever the bytes. */
export const ApiBinaryBody = (description: string) => applyDecorators(ApiConsumes('application/octet-stream'), ApiBody({ required: true, description, schema: BINARY }));

/** A route that answers with a file's raw bytes; its errors stay JSON, so the content type is the 200's alone, not the route's. */
export const ApiBinaryResponse = (description: string) => ApiOkResponse({ description, content: { 'application/octet-stream': { schema: BINARY } } });
