// The OpenAPI 3.1 description of every REST route. Request schemas are the very JSON Schemas the
// validators use (with the configured limits written in), moved under components; responses are
// described here. test/rest-errors.test.ts checks every route of the app appears in it.
import { SCHEMAS, withLimits, type RequestLimits } from '../api/rest/validation.js';

type Schema = Record<string, unknown>;

/** Moves `definitions` of a draft-07 schema into components under `prefix`, rewriting $refs. */
function toComponents(schema: Schema, prefix: string, into: Record<string, Schema>): Schema {
  const rename = (name: string) => prefix + name.charAt(0).toUpperCase() + name.slice(1);
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    const out: Schema = {};
    for (const [key, value] of Object.entries(node as Schema)) {
      if (key === '$schema' || key === '$id' || key === 'definitions') continue;
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/definitions/')) {
        out.$ref = `#/components/schemas/${rename(value.slice('#/definitions/'.length))}`;
      } else out[key] = rewrite(value);
    }
    return out;
  };
  for (const [name, def] of Object.entries((schema.definitions ?? {}) as Record<string, Schema>)) into[rename(name)] = rewrite(def) as Schema;
  return rewrite(schema) as Schema;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });

function errorResponses(...statuses: number[]) {
  const text: Record<number, string> = {
    400: 'Invalid input; `error.field` names the offending field. Nothing was changed.',
    404: 'Unknown id (e.g. a topic id that was never registered).',
    413: 'Body larger than MAX_BODY_BYTES.',
    415: 'Body is not JSON.',
    500: 'Internal error (details only in the service log).',
    503: 'Not ready (loading or shutting down).',
  };
  return Object.fromEntries(statuses.map((s) => [String(s), { description: text[s], ...json(ref('Error')) }]));
}

const writeErrors = () => errorResponses(400, 413, 415, 500, 503);

export function buildOpenApiDocument(limits: RequestLimits, version = '0.1.0'): Schema {
  const schemas: Record<string, Schema> = {};
  const studioTopics = toComponents(withLimits(SCHEMAS.embedTopics, limits), 'Studio', schemas);
  const studioContent = toComponents(withLimits(SCHEMAS.embedContent, limits), 'StudioContent', schemas);
  toComponents(withLimits(SCHEMAS.v1, limits), 'V1', schemas);
  schemas.StudioEmbedTopicsRequest = studioTopics;
  schemas.StudioEmbedContentRequest = studioContent;

  Object.assign(schemas, {
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message', 'field'],
          properties: {
            code: { type: 'string', examples: ['invalid_request', 'malformed_json', 'payload_too_large', 'not_ready', 'internal'] },
            message: { type: 'string', description: 'Starts with the field name when one is at fault.' },
            field: { type: ['string', 'null'], examples: ['topics[0].language'] },
          },
        },
      },
    },
    Status: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
    StudioRecommendResponse: {
      type: 'object',
      required: ['topics'],
      properties: {
        topics: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'recommendations'],
            properties: {
              id: { type: 'string' },
              recommendations: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'channel_id', 'rank', 'title', 'description', 'similarity'],
                  properties: {
                    id: { type: 'string', description: 'Resource id sent to /embed-content' },
                    channel_id: { type: ['string', 'null'] },
                    rank: { type: 'integer', minimum: 1, description: '1 = best match' },
                    title: { type: 'string' },
                    description: { type: 'string' },
                    similarity: { type: 'number' },
                  },
                },
              },
            },
          },
        },
      },
    },
    UpsertResult: {
      type: 'object',
      required: ['inserted', 'updated', 'skipped'],
      properties: {
        status: { type: 'string', description: 'Only on /embed-content: "OK".' },
        inserted: { type: 'integer' },
        updated: { type: 'integer' },
        skipped: { type: 'integer', description: 'Items whose version was not newer than the stored one.' },
      },
    },
    V1Recommendation: {
      type: 'object',
      required: ['id', 'rank', 'similarity', 'language'],
      properties: {
        id: { type: 'string' }, rank: { type: 'integer', minimum: 1 }, similarity: { type: 'number' }, language: { type: 'string' },
        channel_id: { type: 'string' }, content_id: { type: 'string' }, title: { type: 'string' }, description: { type: 'string' }, kind: { type: 'string' },
      },
    },
    V1RecommendResponse: {
      type: 'object',
      required: ['topics'],
      properties: {
        topics: {
          type: 'array',
          items: {
            type: 'object',
            required: ['topic_id', 'recommendations'],
            properties: { topic_id: { type: 'string' }, recommendations: { type: 'array', items: ref('V1Recommendation') } },
          },
        },
      },
    },
    V1EmbedResponse: {
      type: 'object',
      required: ['kind', 'dim', 'embeddings'],
      properties: {
        kind: { enum: ['topic', 'content'] },
        dim: { type: 'integer' },
        embeddings: {
          type: 'array',
          items: { type: 'object', required: ['id', 'vector'], properties: { id: { type: 'string' }, vector: { type: 'array', items: { type: 'number' } } } },
        },
      },
    },
    V1Info: {
      type: 'object',
      required: ['ready', 'bundle', 'selection', 'index', 'known_topics'],
      properties: {
        ready: { type: 'boolean' },
        bundle: {
          type: 'object',
          properties: {
            name: { type: 'string' }, version: { type: 'string' }, backbone: { type: 'string' }, dim: { type: 'integer' },
            variant: { type: 'string' }, text_format: { type: 'string' }, sha256: { type: 'string' },
          },
        },
        selection: { type: 'object', properties: { margin: { type: 'number' }, max_candidates: { type: 'integer' }, min_items: { type: 'integer' } } },
        index: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            snapshot_version: { type: 'integer' },
            languages: {
              type: 'array',
              items: { type: 'object', properties: { language: { type: 'string' }, size: { type: 'integer' }, kind: { enum: ['exact', 'hnsw'] } } },
            },
          },
        },
        known_topics: { type: 'integer' },
      },
    },
  });

  const body = (name: string) => ({ required: true, ...json(ref(name)) });
  const ok = (description: string, schema: Schema) => ({ '200': { description, ...json(schema) } });

  return {
    openapi: '3.1.0',
    info: {
      title: 'Curriculum recommender',
      version,
      description:
        'Recommends learning resources for curriculum topics. The Kolibri Studio contract (/connect, /recommend, /embed-content) plus the versioned /v1 API. ' +
        'Errors are always {"error": {"code", "message", "field"}}. The same operations are served over gRPC (proto/curriculum/recommender/v1/recommender.proto).',
    },
    tags: [{ name: 'kolibri-studio' }, { name: 'v1' }, { name: 'operations' }],
    paths: {
      '/connect': { get: { tags: ['kolibri-studio'], summary: 'Connection check made by Studio', responses: ok('Connected', ref('Status')) } },
      '/recommend': {
        post: {
          tags: ['kolibri-studio'],
          summary: 'Recommendations for Studio topics (embed_topics_request)',
          parameters: [{
            name: 'override_threshold', in: 'query', required: false,
            description: 'true: return the ranked candidates without the dynamic-margin cut',
            schema: { type: 'string', enum: ['true', 'false', 'True', 'False', '1', '0'] },
          }],
          requestBody: body('StudioEmbedTopicsRequest'),
          responses: { ...ok('One entry per topic, in request order', ref('StudioRecommendResponse')), ...writeErrors() },
        },
      },
      '/embed-content': {
        post: {
          tags: ['kolibri-studio'],
          summary: 'Upsert Studio resources into the index (embed_content_request); a newer channel_version replaces an older one',
          requestBody: body('StudioEmbedContentRequest'),
          responses: { ...ok('Counts of the write', ref('UpsertResult')), ...writeErrors() },
        },
      },
      '/v1/recommend': {
        post: {
          tags: ['v1'],
          summary: 'Recommendations for topics given in full, or registered earlier and named by topic_ids',
          requestBody: body('V1RecommendRequest'),
          responses: { ...ok('One entry per topic, in request order', ref('V1RecommendResponse')), ...errorResponses(400, 404, 413, 415, 500, 503) },
        },
      },
      '/v1/content': {
        put: {
          tags: ['v1'],
          summary: 'Upsert content items (all-or-nothing)',
          requestBody: body('V1UpsertContentRequest'),
          responses: { ...ok('Counts of the write', ref('UpsertResult')), ...writeErrors() },
        },
      },
      '/v1/content:delete': {
        post: {
          tags: ['v1'],
          summary: 'Delete content items by id (unknown ids are ignored)',
          requestBody: body('V1DeleteContentRequest'),
          responses: { ...ok('How many were deleted', { type: 'object', required: ['deleted'], properties: { deleted: { type: 'integer' } } }), ...writeErrors() },
        },
      },
      '/v1/topics': {
        post: {
          tags: ['v1'],
          summary: 'Register (upsert) topics so they can be recommended by id',
          requestBody: body('V1RegisterTopicsRequest'),
          responses: { ...ok('How many were registered', { type: 'object', required: ['registered'], properties: { registered: { type: 'integer' } } }), ...writeErrors() },
        },
      },
      '/v1/embed': {
        post: {
          tags: ['v1'],
          summary: 'Embed texts as topics or as contents (L2-normalised vectors)',
          requestBody: body('V1EmbedRequest'),
          responses: { ...ok('One vector per input, in order', ref('V1EmbedResponse')), ...writeErrors() },
        },
      },
      '/v1/info': {
        get: { tags: ['v1'], summary: 'Bundle, selection settings, index sizes per language', responses: { ...ok('Service information', ref('V1Info')), ...errorResponses(503) } },
      },
      '/healthz': { get: { tags: ['operations'], summary: 'Liveness', responses: ok('Alive', ref('Status')) } },
      '/readyz': {
        get: { tags: ['operations'], summary: 'Readiness: 200 only when the model and index are loaded and the service is not shutting down', responses: { ...ok('Ready', ref('Status')), ...errorResponses(503) } },
      },
      '/metrics': {
        get: { tags: ['operations'], summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      },
      '/openapi.json': { get: { tags: ['operations'], summary: 'This document', responses: ok('OpenAPI 3.1 document', { type: 'object' }) } },
    },
    components: { schemas },
  };
}
