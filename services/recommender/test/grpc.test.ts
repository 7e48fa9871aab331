// gRPC over loopback with the generated ts-proto client, against the real core on the tiny bundle:
// every RPC, streaming both ways, errors as INVALID_ARGUMENT naming the field with nothing written,
// grpc.health.v1 following readiness, and server reflection serving our descriptors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRecommender } from '../src/recommender.js';
import { tinyBundle } from './core-fixtures.js';
import { startGrpc, unaryCalls, type RunningGrpc } from './api-support/grpc.js';
import { DeferredRecommender } from '../src/api/lifecycle.js';
import type { ContentItem, Topic, UpsertContentResponse, TopicRecommendations } from '../src/api/grpc/generated/curriculum/recommender/v1/recommender.js';
import type { RecommenderService } from '../src/types.js';

// One core for the file (loading takes a second or two); each test starts from an empty index.
let core: RecommenderService;
before(async () => {
  core = await createRecommender({ bundlePaths: [tinyBundle()] });
});
after(async () => {
  await core.close();
});

const item = (id: string, title: string, language = 'en', extra: Partial<ContentItem> = {}): ContentItem => ({ id, title, language, ...extra });
const topic = (id: string, title: string, language = 'en', extra: Partial<Topic> = {}): Topic => ({ id, title, language, ancestors: [], ...extra });

const CONTENT = [
  item('c-frac', 'Adding fractions', 'en', { description: 'like denominators', channelId: 'ch-a', version: 2, kind: 'video' }),
  item('c-photo', 'Photosynthesis in plants', 'en', { text: 'light energy', channelId: 'ch-a' }),
  item('c-geo', 'Angles in triangles', 'en', { channelId: 'ch-b' }),
  item('c-es', 'Fracciones', 'es'),
];

function upsert(g: RunningGrpc, batches: ContentItem[][]): Promise<UpsertContentResponse> {
  return new Promise((resolve, reject) => {
    const call = g.client.upsertContent((err, res) => (err ? reject(err) : resolve(res!)));
    for (const items of batches) call.write({ items });
    call.end();
  });
}

const ALL_IDS = ['c-frac', 'c-photo', 'c-geo', 'c-es', 'n1', 'n2', 'n3', 'n4'];

async function withGrpc(fn: (g: RunningGrpc, service: RecommenderService) => Promise<void>) {
  await core.deleteContent(ALL_IDS);
  const g = await startGrpc(core);
  try {
    await fn(g, core);
  } finally {
    await g.close();
  }
}

function assertGrpcError(err: unknown, code: grpc.status, field: string) {
  const e = err as grpc.ServiceError;
  assert.equal(e.code, code, `${grpc.status[e.code]}: ${e.details}`);
  assert.ok(e.details.startsWith(`${field}: `), `details name ${field}: ${e.details}`);
}

test('UpsertContent (client streaming) writes all messages as one batch; GetInfo reports it', async () => {
  await withGrpc(async (g) => {
    const res = await upsert(g, [CONTENT.slice(0, 2), CONTENT.slice(2)]);
    assert.deepEqual(res, { inserted: 4, updated: 0, skipped: 0 });
    const info = await unaryCalls(g.client).getInfo({});
    assert.equal(info.ready, true);
    assert.equal(Number(info.index!.total), 4);
    assert.deepEqual(info.index!.languages.map((l) => [l.language, Number(l.size)]), [['en', 3], ['es', 1]]);
    assert.ok(info.bundle!.dim > 0);
    assert.equal(info.bundle!.textFormat, 'lecr-breadcrumb-v1');
  });
});

test('Recommend (unary) answers per topic with ranked recommendations', async () => {
  await withGrpc(async (g) => {
    await upsert(g, [CONTENT]);
    const res = await unaryCalls(g.client).recommend({
      topics: [topic('t1', 'Fractions', 'en', { description: 'adding fractions', ancestors: [{ title: 'Arithmetic' }] }), topic('t2', 'Plants')],
      topicIds: [],
      options: { languages: [], channels: [], overrideThreshold: true },
    });
    assert.deepEqual(res.topics.map((t) => t.topicId), ['t1', 't2']);
    const recs = res.topics[0].recommendations;
    assert.equal(recs.length, 3, 'override_threshold: all English candidates');
    assert.deepEqual(recs.map((r) => r.rank), [1, 2, 3]);
    assert.ok(recs.every((r, i) => i === 0 || r.similarity <= recs[i - 1].similarity));
    assert.ok(recs.every((r) => r.language === 'en'));
    const fractions = topic('t3', 'Adding fractions');
    const all = await unaryCalls(g.client).recommend({ topics: [fractions], topicIds: [], options: { languages: [], channels: [], overrideThreshold: true } });
    const withCut = await unaryCalls(g.client).recommend({ topics: [fractions], topicIds: [], options: { languages: [], channels: [], maxItems: 1 } });
    assert.equal(withCut.topics[0].recommendations.length, 1);
    assert.equal(withCut.topics[0].recommendations[0].id, all.topics[0].recommendations[0].id, 'the cut keeps the best');
    const spanish = await unaryCalls(g.client).recommend({ topics: [topic('t4', 'Fracciones', 'es')], topicIds: [], options: { languages: [], channels: [], overrideThreshold: true } });
    assert.deepEqual(spanish.topics[0].recommendations.map((r) => r.id), ['c-es'], 'candidates come from the topic language');
    const channel = await unaryCalls(g.client).recommend({ topics: [fractions], topicIds: [], options: { languages: [], channels: ['ch-b'], overrideThreshold: true } });
    assert.deepEqual(channel.topics[0].recommendations.map((r) => r.id), ['c-geo'], 'channel filter');
  });
});

test('RecommendStream (server streaming): one message per topic, in order, across batches', async () => {
  await withGrpc(async (g) => {
    await upsert(g, [CONTENT]);
    const topics = Array.from({ length: 70 }, (_, i) => topic(`t${i}`, i % 2 ? 'Fractions' : 'Plants'));
    const received: TopicRecommendations[] = await new Promise((resolve, reject) => {
      const out: TopicRecommendations[] = [];
      const call = g.client.recommendStream({ topics, topicIds: [] });
      call.on('data', (m: TopicRecommendations) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
    assert.deepEqual(received.map((r) => r.topicId), topics.map((t) => t.id));
    assert.ok(received.every((r) => r.recommendations.length >= 1));
  });
});

test('the streams are not bound by MAX_TOPICS_PER_REQUEST (only by message size)', async () => {
  await core.deleteContent(ALL_IDS);
  const g = await startGrpc(core, { maxTopicsPerRequest: 5 });
  try {
    await upsert(g, [CONTENT]);
    const topics = Array.from({ length: 12 }, (_, i) => topic(`s${i}`, 'Fractions'));
    const ids: string[] = await new Promise((resolve, reject) => {
      const out: string[] = [];
      const call = g.client.recommendStream({ topics, topicIds: [] });
      call.on('data', (m: TopicRecommendations) => out.push(m.topicId));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
    assert.deepEqual(ids, topics.map((t) => t.id));
    // Client streaming likewise: 12 items in messages of 4 form one write.
    const many = Array.from({ length: 12 }, (_, i) => item(`bulk-${i}`, `Item ${i}`));
    assert.deepEqual(await upsert(g, [many.slice(0, 4), many.slice(4, 8), many.slice(8)]), { inserted: 12, updated: 0, skipped: 0 });
    await core.deleteContent(many.map((m) => m.id));
    await assert.rejects(unaryCalls(g.client).recommend({ topics, topicIds: [] }), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'topics');
      return /MAX_TOPICS_PER_REQUEST/.test((err as grpc.ServiceError).details);
    });
  } finally {
    await g.close();
  }
});

test('RecommendStream stops when the client cancels', async () => {
  await withGrpc(async (g) => {
    await upsert(g, [CONTENT]);
    const topics = Array.from({ length: 200 }, (_, i) => topic(`c${i}`, 'Fractions'));
    const call = g.client.recommendStream({ topics, topicIds: [] });
    let received = 0;
    await new Promise<void>((resolve) => {
      call.on('data', () => {
        if (++received === 1) call.cancel();
      });
      call.on('error', () => resolve()); // CANCELLED on the client side
      call.on('end', () => resolve());
    });
    assert.ok(received < topics.length, `stopped early (${received} received)`);
    const deadline = Date.now() + 5000;
    while (!/grpc_server_handled_total\{method="RecommendStream",code="CANCELLED"\} 1/.test(await g.metrics.render())) {
      assert.ok(Date.now() < deadline, 'the server side finished the cancelled call');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

test('DeleteContent and Embed', async () => {
  await withGrpc(async (g) => {
    await upsert(g, [CONTENT]);
    const del = await unaryCalls(g.client).deleteContent({ ids: ['c-geo', 'missing'] });
    assert.equal(del.deleted, 1);
    const emb = await unaryCalls(g.client).embed({ topics: [topic('a', 'Fractions'), topic('b', 'Plants')], contents: [] });
    assert.equal(emb.kind, 'topic');
    assert.deepEqual(emb.embeddings.map((e) => e.id), ['a', 'b']);
    for (const e of emb.embeddings) {
      assert.equal(e.vector.length, emb.dim);
      assert.ok(Math.abs(Math.hypot(...e.vector) - 1) < 1e-4);
    }
    const embC = await unaryCalls(g.client).embed({ topics: [], contents: [item('x', 'Fractions')] });
    assert.equal(embC.kind, 'content');
  });
});

test('bad input → INVALID_ARGUMENT naming the field, nothing written', async () => {
  await withGrpc(async (g) => {
    await upsert(g, [CONTENT]);
    const total = async () => Number((await unaryCalls(g.client).getInfo({})).index!.total);
    // Item 1 of the second message is item 3 of the stream.
    await assert.rejects(upsert(g, [[item('n1', 'New one')], [item('n2', 'New two'), item('n3', '  ')]]), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'items[2].title');
      return true;
    });
    await assert.rejects(upsert(g, [[item('n1', 'New one'), item('n4', 'Bad', 'English')]]), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'items[1].language');
      return true;
    });
    await assert.rejects(upsert(g, [[item('n1', 'New one')], [item('n1', 'Again')]]), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'items[1]');
      return true;
    });
    await assert.rejects(upsert(g, []), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'items');
      return true;
    });
    assert.equal(await total(), 4);
    await assert.rejects(unaryCalls(g.client).recommend({ topics: [], topicIds: [] }), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'topics');
      return true;
    });
    await assert.rejects(unaryCalls(g.client).recommend({ topics: [topic('', 'No id')], topicIds: [] }), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'topics[0].id');
      return true;
    });
    await assert.rejects(unaryCalls(g.client).recommend({ topics: [topic('t', 'T')], topicIds: [], options: { margin: 2, languages: [], channels: [] } }), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'options.margin');
      return true;
    });
    await assert.rejects(unaryCalls(g.client).deleteContent({ ids: [] }), (err) => {
      assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'ids');
      return true;
    });
    await assert.rejects(
      new Promise((resolve, reject) => {
        const call = g.client.recommendStream({ topics: [topic('t', 'T', 'English')], topicIds: [] });
        call.on('data', () => {});
        call.on('error', reject);
        call.on('end', resolve);
      }),
      (err) => {
        assertGrpcError(err, grpc.status.INVALID_ARGUMENT, 'topics[0].language');
        return true;
      },
    );
    assert.equal(await total(), 4);
    const metrics = await g.metrics.render();
    assert.match(metrics, /grpc_server_handled_total\{method="UpsertContent",code="INVALID_ARGUMENT"\} 4/);
    assert.match(metrics, /grpc_server_handled_total\{method="GetInfo",code="OK"\} 2/);
    assert.match(metrics, /grpc_server_handled_total\{method="Recommend",code="INVALID_ARGUMENT"\} 3/);
  });
});

test('grpc.health.v1 reports SERVING only when the recommender is ready', async () => {
  const deferred = new DeferredRecommender();
  const g = await startGrpc(deferred);
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const health = new Health(g.address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  const check = (service: string) =>
    new Promise<any>((resolve, reject) => health.check({ service }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
  try {
    assert.equal((await check('')).status, 'NOT_SERVING');
    await assert.rejects(unaryCalls(g.client).getInfo({}), (err) => (err as grpc.ServiceError).code === grpc.status.UNAVAILABLE);
    deferred.attach(core);
    g.server.refreshHealth();
    assert.equal((await check('')).status, 'SERVING');
    assert.equal((await check('curriculum.recommender.v1.Recommender')).status, 'SERVING');
    deferred.startDraining();
    g.server.refreshHealth();
    assert.equal((await check('')).status, 'NOT_SERVING');
  } finally {
    health.close();
    await g.close(); // not deferred.close(): that would close the shared core
  }
});

test('server reflection lists the service and serves its descriptor', async () => {
  await withGrpc(async (g) => {
    const client = new grpc.Client(g.address, grpc.credentials.createInsecure());
    const ask = (request: Uint8Array) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const call = client.makeBidiStreamRequest(
          '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => new Uint8Array(b),
        );
        call.on('data', (m: Uint8Array) => {
          resolve(m);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    // ServerReflectionRequest.list_services = 7; .file_containing_symbol = 4
    const list = await ask(new BinaryWriter().uint32((7 << 3) | 2).string('').finish());
    const text = Buffer.from(list).toString('latin1');
    assert.ok(text.includes('curriculum.recommender.v1.Recommender'), 'service listed');
    const file = await ask(new BinaryWriter().uint32((4 << 3) | 2).string('curriculum.recommender.v1.Recommender').finish());
    // ServerReflectionResponse.file_descriptor_response = 4 → FileDescriptorResponse.file_descriptor_proto = 1
    const reader = new BinaryReader(file);
    let descriptor = '';
    while (reader.pos < reader.len) {
      const [no, wt] = reader.tag();
      if (no === 4) descriptor = Buffer.from(reader.bytes()).toString('latin1');
      else reader.skip(wt);
    }
    assert.ok(descriptor.includes('curriculum/recommender/v1/recommender.proto'));
    assert.ok(descriptor.includes('RecommendStream'));
    client.close();
  });
});

test('a message larger than MAX_BODY_BYTES → RESOURCE_EXHAUSTED, nothing written', async () => {
  await core.deleteContent(ALL_IDS);
  const g = await startGrpc(core, { maxBodyBytes: 4096 });
  try {
    await assert.rejects(upsert(g, [[item('n1', 'Big', 'en', { text: 'x'.repeat(5000) })]]), (err) => (err as grpc.ServiceError).code === grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(Number((await unaryCalls(g.client).getInfo({})).index!.total), 0);
  } finally {
    await g.close();
  }
});

test('the committed generated code is what `npm run proto` produces from proto/', () => {
  const serviceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const out = mkdtempSync(path.join(os.tmpdir(), 'proto-gen-'));
  const script = JSON.parse(readFileSync(path.join(serviceDir, 'package.json'), 'utf8')).scripts.proto as string;
  // Same command, written into a temporary folder.
  const command = script.replaceAll('src/api/grpc/generated', out);
  const bin = path.join(serviceDir, '..', '..', 'node_modules', '.bin');
  execFileSync('sh', ['-c', command], { cwd: serviceDir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  const generated = 'curriculum/recommender/v1/recommender.ts';
  assert.equal(readFileSync(path.join(out, generated), 'utf8'), readFileSync(path.join(serviceDir, 'src/api/grpc/generated', generated), 'utf8'), 'run `npm run proto -w services/recommender` and commit');
  assert.deepEqual(readFileSync(path.join(out, 'recommender.binpb')), readFileSync(path.join(serviceDir, 'src/api/grpc/generated/recommender.binpb')));
});
