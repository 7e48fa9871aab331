// The Kolibri Studio "curriculum automation" contract (reference/kolibri-studio-api.md): the three
// calls Studio makes, with its exact bodies, so this service is a drop-in backend for Studio.
import type express from 'express';
import type { RouteDeps } from './deps.js';
import {
  inWireTerms,
  parseOverrideThreshold,
  STUDIO_CONTENT_FIELDS,
  studioRecommendations,
  studioResourcesToItems,
  studioTopicToInput,
  uniqueIds,
  type StudioContentRequest,
  type StudioTopicsRequest,
} from './wire.js';

export function registerStudioRoutes(app: express.Express, { recommender, validators, logger, jsonBody }: RouteDeps): void {
  // Studio checks this before any other call; it only needs a 200.
  app.get('/connect', (_req, res) => {
    res.json({ status: 'OK' });
  });

  app.post('/recommend', ...jsonBody, async (req, res) => {
    const overrideThreshold = parseOverrideThreshold(req.query.override_threshold);
    validators.studioRecommend(req.body);
    const body = req.body as StudioTopicsRequest;
    if (body.metadata) logger.debug({ metadata: body.metadata, topics: body.topics.length }, 'studio recommend');
    const results = await inWireTerms(() => recommender.recommend(body.topics.map(studioTopicToInput), { overrideThreshold }));
    res.json(studioRecommendations(results));
  });

  app.post('/embed-content', ...jsonBody, async (req, res) => {
    validators.studioEmbedContent(req.body);
    const body = req.body as StudioContentRequest;
    const items = studioResourcesToItems(body);
    uniqueIds(items.map((i) => i.id), 'resources');
    const result = await inWireTerms(() => recommender.upsertContent(items), STUDIO_CONTENT_FIELDS);
    logger.info({ channel: body.metadata?.channel_id, resources: items.length, ...result }, 'studio embed-content');
    res.json({ status: 'OK', ...result });
  });
}
