// A service process whose recommend() skips the encoder: each Studio topic's vector was computed in
// advance (bench/vectors.py, topics.f32 by topic id), so a request costs HTTP/gRPC handling, validation,
// the index search and selection only. Same app builders as src/server.ts (buildHttpApp, buildGrpcServer),
// same index snapshot, same rankAndSelect as the real recommender.
//
//   node --import tsx bench/service_precomputed.ts INDEX_PATH HTTP_PORT GRPC_PORT
//   prints "ready" on stdout once both ports listen.
import fs from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { buildGrpcServer, buildHttpApp } from '../services/recommender/src/app.js';
import { loadBundle } from '../services/recommender/src/bundle/index.js';
import { DEFAULTS } from '../services/recommender/src/defaults.js';
import { InputError } from '../services/recommender/src/errors.js';
import { readSnapshot } from '../services/recommender/src/index/index.js';
import { createLogger } from '../services/recommender/src/logger.js';
import { createMetrics } from '../services/recommender/src/metrics.js';
import { rankAndSelect } from '../services/recommender/src/recommender.js';
import type { RecommendOptions, RecommenderInfo, RecommenderService, TopicInput, TopicRecommendations } from '../services/recommender/src/types.js';
import { REPO, bundleChoice } from './lib/common.js';
import { vectorsDir } from './lib/vectors.js';

async function main(): Promise<void> {
  const [indexPath, httpPort, grpcPort] = process.argv.slice(2);
  const choice = bundleChoice();
  const bundle = await loadBundle(path.join(REPO, choice.path));
  const index = readSnapshot(indexPath, [bundle.identity]);
  const dir = vectorsDir(choice);
  const topics = JSON.parse(fs.readFileSync(path.join(dir, 'service-topics.json'), 'utf8')) as { row: number; topic: { id: string } }[];
  const buf = fs.readFileSync(path.join(dir, 'topics.f32'));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const dim = bundle.manifest.dim;
  const vectorOf = new Map(topics.map((t) => [t.topic.id, all.slice(t.row * dim, (t.row + 1) * dim)]));
  const sel = bundle.manifest.selection;
  const params = { margin: sel.margin, maxCandidates: sel.max_candidates, minItems: sel.min_items };

  const metrics = createMetrics();
  const unsupported = (): never => {
    throw new Error('not available in the precomputed-vector benchmark server');
  };
  const recommender: RecommenderService = {
    async recommend(input: TopicInput[], options?: RecommendOptions): Promise<TopicRecommendations[]> {
      return input.map((t, i) => {
        const v = vectorOf.get(t.id);
        if (!v) throw new InputError(`topics[${i}].id`, `no precomputed vector for topic "${t.id}"`);
        const hits = rankAndSelect(index, [v], { languages: options?.languages ?? [t.language], params, overrideThreshold: options?.overrideThreshold, maxItems: options?.maxItems }, metrics.observer);
        return {
          topicId: t.id,
          recommendations: hits.map((h, r) => ({ id: h.item.id, rank: r + 1, similarity: h.score, language: h.item.language, title: h.item.title, kind: h.item.kind })),
        };
      });
    },
    recommendKnown: unsupported,
    upsertTopics: unsupported,
    upsertContent: unsupported,
    deleteContent: unsupported,
    embedTopics: unsupported,
    embedContent: unsupported,
    info(): RecommenderInfo {
      const m = bundle.manifest;
      return {
        bundle: { name: m.name, version: m.version, backbone: m.backbone, dim: m.dim, variant: bundle.variant, textFormat: m.text_format, sha256: bundle.identity.sha256 },
        selection: params,
        index: { total: index.size, languages: index.languages(), snapshotVersion: index.snapshotVersion },
        knownTopics: 0,
      };
    },
    ready: () => true,
    close: async () => {},
  };
  const config = { maxBodyBytes: DEFAULTS.service.max_body_bytes, maxTextChars: DEFAULTS.service.max_text_chars, maxTopicsPerRequest: DEFAULTS.service.max_topics_per_request };
  const logger = createLogger({ level: 'warn' });
  const http = createServer(buildHttpApp({ config, recommender, metrics, logger }));
  http.keepAliveTimeout = 65_000;
  const grpcServer = buildGrpcServer({ config, recommender, metrics, logger });
  await new Promise<void>((resolve) => http.listen(Number(httpPort), '127.0.0.1', resolve));
  await new Promise<void>((resolve, reject) => grpcServer.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    grpcServer.forceShutdown();
    http.close(() => process.exit(0));
    http.closeAllConnections();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
