export { DomainError, type ErrorKind } from './domain-error';
export { formatBytes } from './byte-size';
