import { AppError, isAppError, type ErrorCode, type ErrorKind } from '../../core/errors.ts';

/** HTTP status by error kind; the core never speaks HTTP, this is where codes meet statuses. */
const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unauthenticated: 401,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = { REQUEST_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415, SCIM_VERSION_MISMATCH: 412 };

export function httpStatusOf(e: AppError): number {
  return STATUS_BY_CODE[e.code] ?? STATUS_BY_KIND[e.kind];
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: ValidationIssue[];
  validationContext?: string;
  message?: string;
}

/** The last segment of a JSON pointer (`/SecondaryLanguages/1` → `SecondaryLanguages`). */
function fieldOf(pointer: string): string | undefined {
  const parts = pointer.split('/').filter((p) => p !== '' && !/^[0-9]+$/.test(p));
  return parts.at(-1);
}

/** Turns a request-schema refusal into our codes: unknown field, missing field, or a wrong value. */
function fromValidation(issues: ValidationIssue[], where: string | undefined): AppError {
  const extra = issues.find((i) => i.keyword === 'additionalProperties');
  if (extra) {
    const names = (extra.params.additionalProperties ?? extra.params.additionalProperty) as string[] | string;
    const name = Array.isArray(names) ? names[0]! : names;
    return new AppError('UNKNOWN_PARAMETER', `${name} is not a field of this request; nothing was changed.`, { field: name });
  }
  const missing = issues.find((i) => i.keyword === 'required');
  if (missing) {
    const names = (missing.params.requiredProperties ?? [missing.params.missingProperty]) as string[];
    return new AppError('MISSING_ARGUMENT', `${names[0]} is required.`, { field: names[0] });
  }
  const first = issues.find((i) => i.keyword !== 'anyOf') ?? issues[0];
  const field = first ? fieldOf(first.instancePath) : undefined;
  const label = field ?? where ?? 'the request';
  return new AppError('INVALID_ARGUMENT', `${label} ${first?.message ?? 'is not valid'}.`, field ? { field } : {});
}

/** Driver errors that mean "the database is not there" (pg network errors and shutdown states, a busy SQLite file). */
const DATABASE_DOWN = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08006', '08001', 'SQLITE_BUSY']);
/** pg's own errors for a connection that died under a query, or that none came in time (they carry no code). */
const CONNECTION_LOST = /^Connection terminated|is not queryable$|^timeout exceeded when trying to connect$/;

/** Any error thrown while handling a request, as an AppError with a stable code. */
export function toAppError(e: unknown): AppError {
  if (isAppError(e)) return e;
  const f = (e ?? {}) as FastifyLikeError;
  if (Array.isArray(f.validation)) return fromValidation(f.validation, f.validationContext);
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('REQUEST_TOO_LARGE', 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError('INVALID_ARGUMENT', 'The body is not valid JSON (or has a __proto__ or constructor key).');
  }
  if (f.statusCode && f.statusCode >= 400 && f.statusCode < 500) return new AppError('INVALID_ARGUMENT', 'The request is malformed.');
  if ((f.code && DATABASE_DOWN.has(f.code)) || (!f.code && CONNECTION_LOST.test(f.message ?? ''))) return new AppError('DATABASE_UNAVAILABLE', 'The database cannot be reached; try again shortly.', { cause: e });
  return new AppError('INTERNAL_ERROR', 'An unexpected error; see the server log.', { cause: e });
}
