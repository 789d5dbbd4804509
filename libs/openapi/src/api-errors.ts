import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The one error body every route answers with (apps/registry's HttpErrorFilter writes it). */
export class ErrorResponse {
  @ApiProperty({ example: 404 }) statusCode: number;
  @ApiProperty({ description: 'A stable code to branch on', example: 'model_not_found' }) error: string;
  @ApiProperty({ description: 'What went wrong and what to do about it' }) message: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Particulars of the error: validation errors list each bad field in fields; a 413 names its limit (setting, maxBytes)',
  })
  details?: unknown;
}

const WHEN = {
  400: 'Invalid input: details.fields lists every bad field',
  401: 'No token, or one that is unknown or revoked',
  403: "The token's roles do not allow this",
  404: 'Something the path names does not exist',
  409: 'Conflicts with the current state; the message says which and what to do',
  413: 'The body exceeds its limit (details.setting names the variable that raises it)',
  415: 'The body is not of the content-type this route takes',
  422: 'Refused on inspection: a gate or signature check failed',
  503: 'The database or blob store is unavailable; try again shortly',
} as const;

export type ErrorStatus = keyof typeof WHEN;

/** Documents the error answers a route (or, on a class, each of its routes) can give, all with the {@link ErrorResponse} body. */
export const ApiErrors = (...statuses: ErrorStatus[]) => applyDecorators(...statuses.map((status) => ApiResponse({ status, description: WHEN[status], type: ErrorResponse })));
