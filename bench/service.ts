// Service benchmark on 127.0.0.1 with a 150k-item content index built from real embeddings (bench/vectors.py):
//   * full path: the real service process (services/recommender/src/server.ts: tokenizer, batcher,
//     onnxruntime-node encoder, HNSW search, selection, REST + gRPC) — Kolibri Studio-shaped
//     POST /recommend bodies under autocannon, and gRPC Recommend from a bounded loopback load loop
//     (@grpc/grpc-js), at 1, 8 and 32 concurrent clients;
//   * precomputed topic vector: the same app builders and index, but recommend() looks the topic's
//     vector up instead of encoding it (bench/service_precomputed.ts) — search + selection + API only;
//   * in-process components (no HTTP): the recommender's embedTopics (tokenise + batcher + inference),
//     rankAndSelect on the index, and recommend() end to end, one topic at a time, to split the time.
// The 150k index snapshot is built once (reusing the cached graph of bench/index.ts) and cached under
// bench/out/service-index/.
//
//   node --import tsx bench/service.ts        → bench/out/results/service.json
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { studioTopicToInput, type StudioTopic } from '../services/recommender/src/api/rest/wire.js';
import { RecommenderClient, RecommendRequest } from '../services/recommender/src/api/grpc/generated/curriculum/recommender/v1/recommender.js';
import { loadBundle } from '../services/recommender/src/bundle/index.js';
import { ContentIndex, currentSnapshotDir, writeSnapshot } from '../services/recommender/src/index/index.js';
import { createRecommender, rankAndSelect } from '../services/recommender/src/recommender.js';
import { OUT, REPO, THREADS, bundleChoice, loadAverage, log, summarize, writeResult } from './lib/common.js';
import { BenchVectors, graphFile, vectorsDir } from './lib/vectors.js';

// 150k by default; a smaller count (e.g. 10000) makes a quick smoke run.
const N_ITEMS = Number(process.env.BENCH_SERVICE_ITEMS ?? '150000');
const CONCURRENCY = [1, 8, 32];
const DURATION_S = Number(process.env.BENCH_SERVICE_SECONDS ?? '8');
const MAX_GRPC_REQUESTS = 20_000;
const GRAPH = { M: 32, efConstruction: 200 }; // the service defaults (config/defaults.json)
const HERE = path.dirname(fileURLToPath(import.meta.url));

interface StudioRow { row: number; topic: StudioTopic }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function ensureSnapshot(vectors: BenchVectors): Promise<string> {
  const choice = bundleChoice();
  const bundle = await loadBundle(path.join(REPO, choice.path));
  const indexPath = path.join(OUT, 'service-index', `${path.basename(vectors.dir)}-n${N_ITEMS}-M${GRAPH.M}-efc${GRAPH.efConstruction}`);
  if (fs.existsSync(indexPath) && currentSnapshotDir(indexPath)) return indexPath;
  const graph = graphFile(N_ITEMS, GRAPH.M, GRAPH.efConstruction);
  if (!fs.existsSync(graph + '.json')) {
    log(`building the ${N_ITEMS}-item HNSW graph first (bench/index.ts build; minutes)`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(HERE, 'index.ts'), 'build', String(N_ITEMS), String(GRAPH.M), String(GRAPH.efConstruction)], { stdio: 'inherit' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`graph build exited with ${code}`))));
    });
  }
  const p = vectors.partition(N_ITEMS, { hnswM: GRAPH.M, hnswEfConstruction: GRAPH.efConstruction });
  p.attachGraph(0, graph);
  const index = new ContentIndex([bundle.identity]);
  index.restorePartition(p);
  writeSnapshot(index, indexPath);
  log(`index snapshot with ${index.size} items written to ${path.relative(REPO, indexPath)}`);
  return indexPath;
}

async function components(indexPath: string, studio: StudioRow[]): Promise<object> {
  const choice = bundleChoice();
  const rec = await createRecommender({ bundlePaths: [path.join(REPO, choice.path)], indexPath, intraOpThreads: THREADS, interOpThreads: 1 });
  // The index is not part of the RecommenderService interface; the implementation keeps it public.
  const index = (rec as unknown as { index: ContentIndex }).index;
  const topics = studio.map((s) => studioTopicToInput(s.topic));
  const sel = rec.info().selection;
  const params = { margin: sel.margin, maxCandidates: sel.maxCandidates, minItems: sel.minItems };
  const n = Math.min(topics.length, 100);
  const time = async (f: (i: number) => Promise<unknown> | unknown): Promise<number[]> => {
    await f(0);
    await f(1);
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await f(i);
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  const embedded = await rec.embedTopics(topics.slice(0, n));
  const embed = summarize(await time((i) => rec.embedTopics([topics[i]])));
  const search = summarize(await time((i) => rankAndSelect(index, [embedded[i]], { languages: [topics[i].language], params })));
  const recommend = summarize(await time((i) => rec.recommend([topics[i]])));
  await rec.close();
  log(`in-process: embedTopics p50 ${embed.p50_ms.toFixed(2)} ms, rankAndSelect p50 ${search.p50_ms.toFixed(2)} ms, recommend p50 ${recommend.p50_ms.toFixed(2)} ms`);
  return { topics: n, embed_topic: embed, search_select: search, recommend };
}

async function waitReady(child: ChildProcess, httpPort: number, what: string, timeoutMs = 600_000): Promise<void> {
  const started = Date.now();
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  while (Date.now() - started < timeoutMs) {
    if (exited !== null) throw new Error(`${what} exited with ${exited} before it was ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000} s`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(timer);
}

async function httpLoad(port: number, bodies: string[], connections: number): Promise<object> {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: DURATION_S,
    requests: [{ method: 'POST', path: '/recommend', headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
  });
  const lat = result.latency;
  return {
    protocol: 'http', concurrency: connections, requests: result.requests.total, rps: result.requests.average,
    p50_ms: lat.p50, p90_ms: lat.p90, p99_ms: lat.p99, mean_ms: lat.average, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts,
  };
}

/** Precise sequential HTTP loop (autocannon's histogram has 1 ms resolution): p50 at one client. */
async function httpSequential(port: number, bodies: string[], count = 100): Promise<object> {
  const ms: number[] = [];
  for (let i = -2; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[(i + bodies.length) % bodies.length] });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`POST /recommend answered ${res.status}`);
    if (i >= 0) ms.push(performance.now() - t0);
  }
  return { protocol: 'http-sequential', concurrency: 1, ...summarize(ms) };
}

async function grpcLoad(port: number, requests: RecommendRequest[], concurrency: number): Promise<object> {
  // One channel per simulated client (like autocannon's connections).
  const clients = Array.from({ length: concurrency }, () => new RecommenderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const call = (c: RecommenderClient, req: RecommendRequest) =>
    new Promise<void>((resolve, reject) => c.recommend(req, (err) => (err ? reject(err) : resolve())));
  for (const c of clients) await call(c, requests[0]); // connect + warm up
  const ms: number[] = [];
  let issued = 0;
  let errors = 0;
  const deadline = performance.now() + DURATION_S * 1000;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < deadline && issued < MAX_GRPC_REQUESTS) {
        const req = requests[issued++ % requests.length];
        const t0 = performance.now();
        try {
          await call(c, req);
          ms.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  clients.forEach((c) => c.close());
  return { protocol: 'grpc', concurrency, ...summarize(ms), requests: ms.length, rps: ms.length / elapsed, errors };
}

async function loadRuns(label: string, httpPort: number, grpcPort: number, bodies: string[], grpcRequests: RecommendRequest[]): Promise<object[]> {
  const runs: object[] = [];
  const seq = await httpSequential(httpPort, bodies);
  runs.push({ mode: label, ...seq });
  for (const c of CONCURRENCY) {
    const h = (await httpLoad(httpPort, bodies, c)) as Record<string, number>;
    runs.push({ mode: label, ...h });
    log(`${label} http c=${c}: ${h.rps.toFixed(1)} req/s, p50 ${h.p50_ms} ms, p90 ${h.p90_ms} ms, p99 ${h.p99_ms} ms (non-2xx ${h.non2xx})`);
    const g = (await grpcLoad(grpcPort, grpcRequests, c)) as Record<string, number>;
    runs.push({ mode: label, ...g });
    log(`${label} grpc c=${c}: ${g.rps.toFixed(1)} req/s, p50 ${g.p50_ms.toFixed(2)} ms, p90 ${g.p90_ms.toFixed(2)} ms, p99 ${g.p99_ms.toFixed(2)} ms (errors ${g.errors})`);
  }
  return runs;
}

async function main(): Promise<void> {
  const choice = bundleChoice();
  const vectors = new BenchVectors(vectorsDir(choice));
  const studio = JSON.parse(fs.readFileSync(path.join(vectors.dir, 'service-topics.json'), 'utf8')) as StudioRow[];
  const loadBefore = loadAverage();
  const indexPath = await ensureSnapshot(vectors);
  const bodies = studio.map((s) => JSON.stringify({ topics: [s.topic], metadata: { channel_id: s.topic.channel_id, bench: true } }));
  const grpcRequests = studio.map((s) => {
    const t = studioTopicToInput(s.topic);
    return RecommendRequest.fromPartial({
      topics: [{ id: t.id, title: t.title, description: t.description, language: t.language, channelId: t.channelId, ancestors: (t.ancestors ?? []).map((a) => ({ id: a.id, title: a.title, description: a.description })) }],
    });
  });

  const inProcess = await components(indexPath, studio);
  const runs: object[] = [];

  // Full path: the real service entry point.
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env, BUNDLE_PATH: path.join(REPO, choice.path), INDEX_PATH: indexPath, HOST: '127.0.0.1', HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort),
    ORT_INTRA_OP_THREADS: String(THREADS), ORT_INTER_OP_THREADS: '1', LOG_LEVEL: 'warn',
  };
  const t0 = performance.now();
  const server = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'services/recommender/src/server.ts')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitReady(server, httpPort, 'the service');
    const startS = (performance.now() - t0) / 1000;
    log(`service ready in ${startS.toFixed(1)} s (HTTP ${httpPort}, gRPC ${grpcPort})`);
    runs.push(...(await loadRuns('full', httpPort, grpcPort, bodies, grpcRequests)));
    runs.push({ mode: 'full', protocol: 'startup', seconds: startS });
  } finally {
    await stop(server);
  }

  // Precomputed topic vectors: search + selection + API.
  const [hp, gp] = [await freePort(), await freePort()];
  const pre = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'service_precomputed.ts'), indexPath, String(hp), String(gp)], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitReady(pre, hp, 'the precomputed-vector server');
    runs.push(...(await loadRuns('precomputed', hp, gp, bodies, grpcRequests)));
  } finally {
    await stop(pre);
  }
  writeResult('service', { bundle: choice, items: N_ITEMS, graph: GRAPH, duration_s: DURATION_S, threads: THREADS, vectors: vectors.meta, in_process: inProcess, runs, load_average_before: loadBefore, load_average_after: loadAverage() });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
