// Builds the REST application (and re-exports the gRPC builder) without listening, so tests and
// src/server.ts assemble the same thing. Order: request id + access log/metrics → routes (each with
// its own JSON body parser, so even a 413 is labelled with its route) → 404 → error mapper.
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { Logger } from 'pino';
import type { ServiceConfig } from './config.js';
import type { ServiceMetrics } from './metrics.js';
import type { RecommenderService } from './types.js';
import { buildValidators, type RequestLimits } from './api/rest/validation.js';
import { errorHandler, notFoundHandler, requireJsonBody } from './api/rest/errors.js';
import { registerStudioRoutes } from './api/rest/studio.js';
import { registerV1Routes } from './api/rest/v1.js';
import { registerOpsRoutes } from './api/rest/ops.js';
import { buildOpenApiDocument } from './openapi/document.js';

export { buildGrpcServer } from './api/grpc/server.js';
export { DeferredRecommender, NotReadyError } from './api/lifecycle.js';

export type HttpConfig = Pick<ServiceConfig, 'maxBodyBytes' | 'maxTextChars' | 'maxTopicsPerRequest'>;

export interface AppDeps {
  config: HttpConfig;
  recommender: RecommenderService;
  metrics: ServiceMetrics;
  logger: Logger;
}

export function requestLimits(config: HttpConfig): RequestLimits {
  return { maxTextChars: config.maxTextChars, maxItemsPerRequest: config.maxTopicsPerRequest };
}

/** Route label for metrics and logs: the pattern ("/v1/content:delete"), never the raw URL. */
function routeLabel(req: express.Request): string {
  const route = (req as express.Request & { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path.replace(/\\/g, '') : 'unmatched';
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;

export function buildHttpApp({ config, recommender, metrics, logger }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Query strings are flat here (override_threshold); the simple parser avoids nested-object surprises.
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      metrics.observeHttp(req.method, route, res.statusCode, seconds);
      const entry = { requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 };
      // Access lines at debug keep production logs small; client errors and "not ready yet" (503)
      // at info; server faults at error.
      if (res.statusCode >= 500 && res.statusCode !== 503) logger.error(entry, 'request failed');
      else if (res.statusCode >= 400) logger.info(entry, 'request rejected');
      else logger.debug(entry, 'request');
    });
    next();
  });

  const limits = requestLimits(config);
  const deps = {
    recommender,
    logger,
    validators: buildValidators(limits),
    jsonBody: [express.json({ limit: config.maxBodyBytes, strict: true, type: ['application/json', 'application/*+json'] }), requireJsonBody],
  };
  registerStudioRoutes(app, deps);
  registerV1Routes(app, deps);
  registerOpsRoutes(app, { recommender, metrics, openapi: buildOpenApiDocument(limits) });

  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
