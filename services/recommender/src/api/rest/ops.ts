// Operational endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.
import type express from 'express';
import type { RecommenderService } from '../../types.js';
import type { ServiceMetrics } from '../../metrics.js';
import { sendError } from './errors.js';

export function registerOpsRoutes(
  app: express.Express,
  { recommender, metrics, openapi }: { recommender: RecommenderService; metrics: ServiceMetrics; openapi: object },
): void {
  // Alive = the event loop answers; says nothing about the model (that is /readyz).
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'OK' });
  });

  app.get('/readyz', (_req, res) => {
    if (recommender.ready()) res.json({ status: 'ready' });
    else sendError(res, 503, 'not_ready', 'the recommender is not ready (loading, or shutting down)', null);
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.render());
  });

  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
}
