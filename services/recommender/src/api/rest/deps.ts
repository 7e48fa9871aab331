import type express from 'express';
import type { Logger } from 'pino';
import type { RecommenderService } from '../../types.js';
import type { Validators } from './validation.js';

/** What the route modules need; built once by buildHttpApp. */
export interface RouteDeps {
  recommender: RecommenderService;
  validators: Validators;
  logger: Logger;
  /** express.json with the MAX_BODY_BYTES limit, followed by the JSON-body check. */
  jsonBody: express.RequestHandler[];
}
