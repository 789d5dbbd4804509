export { ApiErrors, ErrorResponse, type ErrorStatus } from './api-errors';
