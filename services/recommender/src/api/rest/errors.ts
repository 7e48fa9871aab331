// One error shape for every REST failure: {"error": {"code", "message", "field"}}. Caller mistakes
// name the field; server faults are logged with their stack and answered without it.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { InputError, ArtifactError } from '../../errors.js';
import { NotReadyError } from '../lifecycle.js';

export interface ErrorBody {
  error: { code: string; message: string; field: string | null };
}

export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
  503: 'not_ready',
};

export function sendError(res: Response, status: number, code: string, message: string, field: string | null): void {
  const body: ErrorBody = { error: { code, message, field } };
  res.status(status).json(body);
}

/** Errors thrown by express.json (body-parser) carry a `type`; map them to our shape. */
function bodyParserError(err: { type?: string; status?: number; limit?: number; length?: number; message?: string }): HttpError | null {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', `body: must be at most ${String(err.limit)} bytes (MAX_BODY_BYTES), got ${String(err.length)}`, 'body');
    case 'entity.parse.failed':
      return new HttpError(400, 'malformed_json', `body: is not valid JSON (${err.message ?? 'parse error'})`, 'body');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_media_type', `body: ${err.message ?? 'unsupported encoding'}`, 'body');
    case 'request.aborted':
    case 'request.size.invalid':
      return new HttpError(400, 'invalid_request', `body: ${err.message ?? 'incomplete body'}`, 'body');
    default:
      return null;
  }
}

/** Requires a parsed JSON body (express.json leaves it undefined for other content types). */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined) return next();
  const contentType = req.get('content-type');
  if (contentType && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    next(new HttpError(400, 'invalid_request', 'body: is required (a JSON object)', 'body'));
  } else {
    next(new HttpError(415, 'unsupported_media_type', `body: must be JSON (Content-Type: application/json), got ${contentType ?? 'no Content-Type'}`, 'body'));
  }
};

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new HttpError(404, 'not_found', `no route ${req.method} ${req.path} (see /openapi.json)`));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Too late for a JSON error; let Node close the connection.
      logger.error({ err, requestId: res.locals.requestId }, 'error after the response started');
      res.destroy();
      return;
    }
    const mapped = err instanceof HttpError ? err : bodyParserError(err as never);
    if (mapped) return sendError(res, mapped.status, mapped.code, mapped.message, mapped.field);
    if (err instanceof InputError) {
      return sendError(res, err.status, CODE_BY_STATUS[err.status] ?? 'invalid_request', err.message, err.field);
    }
    // Other client errors raised by express itself (http-errors with expose=true, e.g. a bad URI encoding).
    const httpErr = err as { status?: unknown; expose?: unknown; message?: unknown };
    if (typeof httpErr.status === 'number' && httpErr.status >= 400 && httpErr.status < 500 && httpErr.expose === true) {
      return sendError(res, httpErr.status, CODE_BY_STATUS[httpErr.status] ?? 'invalid_request', String(httpErr.message), null);
    }
    if (err instanceof NotReadyError) {
      res.setHeader('Retry-After', '1');
      return sendError(res, 503, 'not_ready', err.message, null);
    }
    const requestId = String(res.locals.requestId ?? '');
    logger.error({ err, requestId, method: req.method, path: req.path }, err instanceof ArtifactError ? 'artifact error' : 'unhandled error');
    sendError(res, 500, 'internal', `internal error (request ${requestId}); the details are in the service log`, null);
  };
}
