export { ApiBinaryBody, ApiBinaryResponse } from './binary-bodies';
export { ApiErrors, ErrorResponse, type ErrorStatus } from './api-errors';
export { decodeCursor, InvalidCursorError, keysetPage, RecentPageQuery } from './pages';
