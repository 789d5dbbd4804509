export { DomainError, type ErrorKind } from './domain-error';
export { SizeLimitError } from './size-limit-error';
