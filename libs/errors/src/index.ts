export { DomainError, type ErrorKind } from './domain-error';
export { SizeLimitError } from './size-limit-error';
export { FileProblemsError } from './file-problems-error';
