// The gRPC front door: the same operations as REST /v1 (messages are mapped onto the /v1 JSON shapes
// and go through the same validators, so both doors accept and reject exactly the same input), plus
// grpc.health.v1 (SERVING only when the recommender is ready) and server reflection.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../../metrics.js';
import type { RecommenderInfo, RecommenderService, TopicRecommendations } from '../../types.js';
import { InputError } from '../../errors.js';
import { NotReadyError } from '../lifecycle.js';
import { buildValidators } from '../rest/validation.js';
import { v1Operations } from '../rest/v1.js';
import { exactlyOne, inWireTerms, uniqueIds, v1ContentToItem, v1Info, type V1Content, type V1RecommendOptions, type V1Topic } from '../rest/wire.js';
import { loadFileDescriptorProtos } from './descriptors.js';
import {
  RecommenderService as RecommenderServiceDefinition,
  type RecommenderServer,
  type Topic,
  type ContentItem,
  type RecommendOptions,
  type RecommendRequest,
  type TopicRecommendations as TopicRecommendationsMessage,
  type GetInfoResponse,
} from './generated/curriculum/recommender/v1/recommender.js';

export const SERVICE_NAME = 'curriculum.recommender.v1.Recommender';

export interface GrpcDeps {
  config: { maxBodyBytes: number; maxTextChars: number; maxTopicsPerRequest: number };
  recommender: RecommenderService;
  metrics: ServiceMetrics;
  logger: Logger;
}

export type RecommenderGrpcServer = grpc.Server & {
  /** Re-reads recommender.ready() into the health service (also done every second). */
  refreshHealth(): void;
};

// Topics per core call in RecommendStream: small enough that the first answers leave early.
const STREAM_CHUNK = 32;

// ------------------------------------------------------------ proto → /v1 JSON shapes

const topicJson = (t: Topic): V1Topic => ({
  id: t.id,
  title: t.title,
  description: t.description,
  language: t.language,
  channel_id: t.channelId,
  ancestors: t.ancestors.map((a) => ({ id: a.id, title: a.title, description: a.description })),
});

const contentJson = (c: ContentItem): V1Content => ({
  id: c.id,
  title: c.title,
  description: c.description,
  text: c.text,
  language: c.language,
  channel_id: c.channelId,
  content_id: c.contentId,
  kind: c.kind,
  version: c.version,
});

function optionsJson(o: RecommendOptions | undefined): V1RecommendOptions | undefined {
  if (!o) return undefined;
  return {
    margin: o.margin,
    max_items: o.maxItems,
    max_candidates: o.maxCandidates,
    languages: o.languages.length ? o.languages : undefined,
    channels: o.channels.length ? o.channels : undefined,
    override_threshold: o.overrideThreshold,
  };
}

/** Repeated fields are never "absent" in proto3: an empty one counts as not given. */
function recommendJson(r: RecommendRequest): Record<string, unknown> {
  return dropUndefined({
    topics: r.topics.length ? r.topics.map(topicJson) : undefined,
    topic_ids: r.topicIds.length ? r.topicIds : undefined,
    options: dropUndefined(optionsJson(r.options)),
  });
}

function dropUndefined<T extends object | undefined>(value: T): T {
  if (!value) return value;
  return JSON.parse(JSON.stringify(value)) as T;
}

// ------------------------------------------------------------ core → proto

function recommendationsMessage(t: TopicRecommendations): TopicRecommendationsMessage {
  return {
    topicId: t.topicId,
    recommendations: t.recommendations.map((r) => ({
      id: r.id, rank: r.rank, similarity: r.similarity, language: r.language,
      channelId: r.channelId, contentId: r.contentId, title: r.title, description: r.description, kind: r.kind,
    })),
  };
}

function infoMessage(info: RecommenderInfo, ready: boolean): GetInfoResponse {
  const j = v1Info(info, ready);
  return {
    bundle: { ...info.bundle },
    selection: { margin: j.selection.margin, maxCandidates: j.selection.max_candidates, minItems: j.selection.min_items },
    index: { total: j.index.total, snapshotVersion: j.index.snapshot_version, languages: j.index.languages },
    knownTopics: j.known_topics,
    ready,
  };
}

// ------------------------------------------------------------ errors

function toServiceError(err: unknown, logger: Logger, method: string): Partial<grpc.ServiceError> {
  if (err instanceof InputError) {
    return { code: err.status === 404 ? grpc.status.NOT_FOUND : grpc.status.INVALID_ARGUMENT, details: err.message };
  }
  if (err instanceof NotReadyError) return { code: grpc.status.UNAVAILABLE, details: err.message };
  logger.error({ err, method }, 'gRPC handler failed');
  return { code: grpc.status.INTERNAL, details: 'internal error; the details are in the service log' };
}

const codeName = (code: number | undefined) => grpc.status[code ?? grpc.status.OK] ?? String(code);

/** Flow control: wait until the client has read enough, or gave up (then 'drain' never comes). */
function drainedOrCancelled(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

// ------------------------------------------------------------ server

export function buildGrpcServer({ config, recommender, metrics, logger }: GrpcDeps): RecommenderGrpcServer {
  const limits = { maxTextChars: config.maxTextChars, maxItemsPerRequest: config.maxTopicsPerRequest };
  const ops = v1Operations(recommender, buildValidators(limits));
  // Streams are bounded by message size (MAX_BODY_BYTES), not by item count.
  const bulk = buildValidators({ ...limits, maxItemsPerRequest: Number.MAX_SAFE_INTEGER });

  const timed = (method: string) => {
    const started = process.hrtime.bigint();
    return (code: number) => metrics.observeGrpc(method, codeName(code), Number(process.hrtime.bigint() - started) / 1e9);
  };

  function unary<Req, Res>(method: string, run: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const done = timed(method);
      run(call.request).then(
        (response) => {
          done(grpc.status.OK);
          callback(null, response);
        },
        (err: unknown) => {
          const error = toServiceError(err, logger, method);
          done(error.code!);
          callback(error);
        },
      );
    };
  }

  const implementation: RecommenderServer = {
    recommend: unary('Recommend', async (request: RecommendRequest) => ({
      topics: (await ops.recommend(recommendJson(request))).map(recommendationsMessage),
    })),

    recommendStream: (call) => {
      const done = timed('RecommendStream');
      const run = async () => {
        const body = recommendJson(call.request);
        bulk.v1Recommend(body);
        const which = exactlyOne(body, 'topics', 'topic_ids');
        const all = (which === 'topics' ? body.topics : body.topic_ids) as unknown[];
        // Each chunk must also pass the unary validator's MAX_TOPICS_PER_REQUEST.
        const step = Math.min(STREAM_CHUNK, config.maxTopicsPerRequest);
        for (let start = 0; start < all.length && !call.cancelled; start += step) {
          const chunk = all.slice(start, start + step);
          // Each chunk goes through the same validated path as a unary call.
          const results = await ops.recommend({ [which]: chunk, options: body.options });
          for (const result of results) {
            if (call.cancelled) break;
            if (!call.write(recommendationsMessage(result))) await drainedOrCancelled(call);
          }
        }
      };
      run().then(
        () => {
          done(call.cancelled ? grpc.status.CANCELLED : grpc.status.OK);
          call.end();
        },
        (err: unknown) => {
          const error = toServiceError(err, logger, 'RecommendStream');
          done(error.code!);
          call.emit('error', error);
        },
      );
    },

    upsertContent: (call, callback) => {
      const done = timed('UpsertContent');
      const items: V1Content[] = [];
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        const error = toServiceError(err, logger, 'UpsertContent');
        done(error.code!);
        callback(error);
      };
      call.on('data', (message: { items: ContentItem[] }) => {
        if (failed) return;
        const offset = items.length;
        const batch = message.items.map(contentJson);
        try {
          bulk.v1UpsertContent(dropUndefined({ items: batch }));
        } catch (err) {
          // Renumber "items[3]" of this message to its position in the whole stream.
          if (err instanceof InputError) {
            const renumber = (s: string) => s.replace(/^items\[(\d+)\]/, (_, i: string) => `items[${offset + Number(i)}]`);
            const message = renumber(err.message).slice(renumber(err.field).length + 2);
            return fail(new InputError(renumber(err.field), message, err.status));
          }
          return fail(err);
        }
        items.push(...batch);
      });
      call.on('error', (err) => fail(err));
      call.on('end', () => {
        if (failed) return;
        // One all-or-nothing write for the whole stream.
        (async () => {
          if (items.length === 0) throw new InputError('items', 'the stream carried no content items');
          uniqueIds(items.map((i) => i.id), 'items');
          // Every message passed the validator already; the core call is not bound by MAX_TOPICS_PER_REQUEST.
          return inWireTerms(() => recommender.upsertContent(items.map(v1ContentToItem)));
        })().then(
          (result) => {
            if (failed) return;
            done(grpc.status.OK);
            callback(null, result);
          },
          fail,
        );
      });
    },

    deleteContent: unary('DeleteContent', (request: { ids: string[] }) => ops.deleteContent({ ids: request.ids })),

    embed: unary('Embed', async (request: { topics: Topic[]; contents: ContentItem[] }) => {
      const body = dropUndefined({
        topics: request.topics.length ? request.topics.map(topicJson) : undefined,
        contents: request.contents.length ? request.contents.map(contentJson) : undefined,
      });
      const { kind, dim, ids, vectors } = await ops.embed(body);
      return { kind, dim, embeddings: ids.map((id, i) => ({ id, vector: Array.from(vectors[i]) })) };
    }),

    getInfo: unary('GetInfo', async () => infoMessage(recommender.info(), recommender.ready())),
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxBodyBytes,
  }) as RecommenderGrpcServer;
  server.addService(RecommenderServiceDefinition, implementation);

  const health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  let lastStatus: 'SERVING' | 'NOT_SERVING' | null = null;
  server.refreshHealth = () => {
    const status = recommender.ready() ? 'SERVING' : 'NOT_SERVING';
    if (status === lastStatus) return;
    lastStatus = status;
    health.setStatus('', status);
    health.setStatus(SERVICE_NAME, status);
  };
  server.refreshHealth();
  // Readiness changes without a request (load finished, shutdown began); poll it cheaply.
  const poll = setInterval(() => server.refreshHealth(), 1000).unref();
  const tryShutdown = server.tryShutdown.bind(server);
  const forceShutdown = server.forceShutdown.bind(server);
  server.tryShutdown = (callback) => {
    clearInterval(poll);
    tryShutdown(callback);
  };
  server.forceShutdown = () => {
    clearInterval(poll);
    forceShutdown();
  };

  const reflection = new ReflectionService({ [SERVICE_NAME]: { fileDescriptorProtos: loadFileDescriptorProtos() } } as never);
  reflection.addToServer(server);
  return server;
}
