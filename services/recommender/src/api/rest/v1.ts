// The product's own versioned API. Bodies are snake_case JSON (schemas/v1.json); gRPC maps its
// messages onto the same shapes and validators. Deletion is `POST /v1/content:delete` with a list
// of ids (bulk, like a channel unpublish), in the custom-method style of Google's API design guide.
import type express from 'express';
import type { RouteDeps } from './deps.js';
import {
  exactlyOne,
  inWireTerms,
  uniqueIds,
  v1ContentToItem,
  v1Info,
  v1Options,
  v1Recommendations,
  v1TopicToInput,
  type V1Content,
  type V1EmbedRequest,
  type V1RecommendRequest,
  type V1Topic,
} from './wire.js';
import type { RecommenderService } from '../../types.js';

/** The /v1 operations, shared by REST and gRPC (which passes its messages in the same JSON shape). */
export function v1Operations(recommender: RecommenderService, validators: RouteDeps['validators']) {
  return {
    async recommend(body: unknown) {
      validators.v1Recommend(body);
      const request = body as V1RecommendRequest;
      const options = v1Options(request.options);
      const which = exactlyOne(request as Record<string, unknown>, 'topics', 'topic_ids');
      return inWireTerms(() =>
        which === 'topics'
          ? recommender.recommend(request.topics!.map(v1TopicToInput), options)
          : recommender.recommendKnown(request.topic_ids!, options),
      );
    },
    async upsertContent(body: unknown) {
      validators.v1UpsertContent(body);
      const items = (body as { items: V1Content[] }).items;
      uniqueIds(items.map((i) => i.id), 'items');
      return inWireTerms(() => recommender.upsertContent(items.map(v1ContentToItem)));
    },
    async deleteContent(body: unknown) {
      validators.v1DeleteContent(body);
      return inWireTerms(() => recommender.deleteContent((body as { ids: string[] }).ids));
    },
    async registerTopics(body: unknown) {
      validators.v1RegisterTopics(body);
      const topics = (body as { topics: V1Topic[] }).topics;
      uniqueIds(topics.map((t) => t.id), 'topics');
      return { registered: await inWireTerms(() => recommender.upsertTopics(topics.map(v1TopicToInput))) };
    },
    async embed(body: unknown) {
      validators.v1Embed(body);
      const request = body as V1EmbedRequest;
      const kind = exactlyOne(request as Record<string, unknown>, 'topics', 'contents') === 'topics' ? 'topic' : 'content';
      const ids = kind === 'topic' ? request.topics!.map((t) => t.id) : request.contents!.map((c) => c.id);
      const vectors = await inWireTerms(() =>
        kind === 'topic'
          ? recommender.embedTopics(request.topics!.map(v1TopicToInput))
          : recommender.embedContent(request.contents!.map(v1ContentToItem)),
        kind === 'topic' ? [] : [[/^items\[/, 'contents[']],
      );
      return { kind, dim: vectors[0]?.length ?? 0, ids, vectors };
    },
    info() {
      return v1Info(recommender.info(), recommender.ready());
    },
  };
}

export function registerV1Routes(app: express.Express, { recommender, validators, jsonBody }: RouteDeps): void {
  const ops = v1Operations(recommender, validators);

  app.post('/v1/recommend', ...jsonBody, async (req, res) => {
    res.json(v1Recommendations(await ops.recommend(req.body)));
  });

  app.put('/v1/content', ...jsonBody, async (req, res) => {
    res.json(await ops.upsertContent(req.body));
  });

  // The colon is escaped: in express 5 paths ":name" would start a parameter.
  app.post('/v1/content\\:delete', ...jsonBody, async (req, res) => {
    res.json(await ops.deleteContent(req.body));
  });

  app.post('/v1/topics', ...jsonBody, async (req, res) => {
    res.json(await ops.registerTopics(req.body));
  });

  app.post('/v1/embed', ...jsonBody, async (req, res) => {
    const { kind, dim, ids, vectors } = await ops.embed(req.body);
    res.json({ kind, dim, embeddings: ids.map((id, i) => ({ id, vector: Array.from(vectors[i]) })) });
  });

  app.get('/v1/info', (_req, res) => {
    res.json(ops.info());
  });
}
