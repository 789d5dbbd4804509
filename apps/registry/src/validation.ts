import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { DomainError } from '@gatehouse/errors';

export interface FieldError {
  field: string;
  errors: string[];
}

/** Flattens nested class-validator errors into `parents.0.version`-style fields. */
function fieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, errors: Object.values(error.constraints) }] : [];
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

/** The one global pipe: unknown fields are errors, and every bad field is named. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const fields = fieldErrors(errors);
      return new DomainError('invalid', 'validation_failed', `invalid request: ${fields.map((f) => `${f.field}: ${f.errors.join('; ')}`).join(' | ')}`, { fields });
    },
  });
}
