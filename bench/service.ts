// Service benchmark on 127.0.0.1 with a 150k-item content index built from real embeddings (bench/vectors.py):
//   * full path: the real service process (services/recommender/src/server.ts: tokenizer, batcher,
//     onnxruntime-node encoder, HNSW search, selection, REST + gRPC) — Kolibri Studio-shaped
//     POST /recommend bodies under autocannon, and gRPC Recommend from a bounded loopback load loop
//     (@grpc/grpc-js), at 1, 8 and 32 concurrent clients;
//   * precomputed topic vector: the same app builders and index, but recommend() looks the topic's
//     vector up instead of encoding it (bench/service_precomputed.ts) — search + selection + API only;
//   * in-process components (no HTTP): the recommender's embedTopics (tokenise + batcher + inference),
//     rankAndSelect on the index, and recommend() end to end, one topic at a time, to split the time;
//   * the goal "the service adds < 2 ms p50 over encoder + search", per path and protocol (result key
//     "overhead"): one client, sequential REST / gRPC requests in blocks alternating with the same work
//     in this process (request p50 − in-process p50), and the server's own per-stage means.
// The 150k index snapshot is built once (reusing the cached graph of bench/index.ts) and cached under
// bench/out/service-index/.
//
//   node --import tsx bench/service.ts        → bench/out/results/service.json
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { studioTopicToInput, type StudioTopic } from '../services/recommender/src/api/rest/wire.js';
import { RecommenderClient, RecommendRequest } from '../services/recommender/src/api/grpc/generated/curriculum/recommender/v1/recommender.js';
import { loadBundle } from '../services/recommender/src/bundle/index.js';
import { ContentIndex, currentSnapshotDir, writeSnapshot } from '../services/recommender/src/index/index.js';
import { createRecommender, rankAndSelect, type Recommender } from '../services/recommender/src/recommender.js';
import type { SelectionParams } from '../services/recommender/src/selection/index.js';
import type { TopicInput } from '../services/recommender/src/types.js';
import { OUT, REPO, THREADS, bundleChoice, loadAverage, log, summarize, writeResult } from './lib/common.js';
import { BenchVectors, graphFile, vectorsDir } from './lib/vectors.js';

// 150k by default; a smaller count (e.g. 10000) makes a quick smoke run.
const N_ITEMS = Number(process.env.BENCH_SERVICE_ITEMS ?? '150000');
const CONCURRENCY = [1, 8, 32];
const DURATION_S = Number(process.env.BENCH_SERVICE_SECONDS ?? '5');
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

interface InProcess {
  rec: Recommender;
  index: ContentIndex;
  topics: TopicInput[];
  embedded: Float32Array[];
  params: SelectionParams;
  result: object;
}

const N_PAIRED = 100;

async function components(indexPath: string, studio: StudioRow[]): Promise<InProcess> {
  const choice = bundleChoice();
  const rec = await createRecommender({ bundlePaths: [path.join(REPO, choice.path)], indexPath, intraOpThreads: THREADS, interOpThreads: 1 });
  // The index is not part of the RecommenderService interface; the implementation keeps it public.
  const index = (rec as unknown as { index: ContentIndex }).index;
  const topics = studio.map((s) => studioTopicToInput(s.topic));
  const sel = rec.info().selection;
  const params = { margin: sel.margin, maxCandidates: sel.maxCandidates, minItems: sel.minItems };
  const n = Math.min(topics.length, N_PAIRED);
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
  log(`in-process: embedTopics p50 ${embed.p50_ms.toFixed(2)} ms, rankAndSelect p50 ${search.p50_ms.toFixed(2)} ms, recommend p50 ${recommend.p50_ms.toFixed(2)} ms`);
  return { rec, index, topics, embedded, params, result: { topics: n, embed_topic: embed, search_select: search, recommend } };
}

/** One keep-alive connection; the head and body leave in one write (fetch sends them in two, and the
 * server's clock starts at the head, so it would count the gap as API time). */
function httpPoster(port: number): { post: (body: string) => Promise<void>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/recommend', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /recommend answered ${res.statusCode}`))));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

const BLOCK = 10;
const SETTLE_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the service adds over the same work done in this process, one request at a time: blocks of
 * BLOCK topics answered in process, then the same topics over HTTP (or gRPC), alternating, so the
 * drift of a shared machine hits both sides alike. Blocks rather than single calls, with a pause at
 * each switch: on a 2-core machine a remote call made right after this process computed is slowed by
 * contention for the cores and caches, which a per-call pairing charged to the API (at 150k items it
 * turned a ~1.3 ms overhead into 1.7–4.4 ms). overhead_p50_ms = remote p50 − in-process p50.
 */
async function sequentialOverhead(remote: (i: number) => Promise<unknown>, n: number, inProcess: (i: number) => Promise<unknown>): Promise<{ remote: number[]; local: number[] }> {
  const remoteMs: number[] = [];
  const localMs: number[] = [];
  for (let b = 0; b < n; b += BLOCK) {
    for (const [f, out] of [[inProcess, localMs], [remote, remoteMs]] as const) {
      for (let i = b; i < Math.min(n, b + BLOCK); i++) {
        const t0 = performance.now();
        await f(i);
        out.push(performance.now() - t0);
      }
      await sleep(SETTLE_MS);
    }
  }
  return { remote: remoteMs, local: localMs };
}

// ---------------------------------------------------------------- the server's own accounting

type Series = Map<string, number>;

/** Prometheus text → series ("name{labels}" → value), for _sum and _count lines only. */
async function scrape(port: number): Promise<Series> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    const m = /^(\w+_(?:sum|count))(\{[^}]*\})? ([-+\d.eE]+)$/.exec(line);
    if (m) out.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return out;
}

function delta(before: Series, after: Series, name: string, labelMatch = ''): number {
  let total = 0;
  for (const [k, v] of after) if (k.startsWith(name + '{') || k === name) if (k.includes(labelMatch)) total += v - (before.get(k) ?? 0);
  return total;
}

/**
 * Per-request means from the server's metrics over one run: the server-side request time, the
 * pipeline stages (tokenize, queue = batcher wait, inference, search, select) and the mean batch
 * size; "api" = request time − the stages (routing, JSON, validation, mapping, serialisation).
 * Stage times are summed per batch, so the split is exact when batches hold one request (1 client).
 */
function serverAccount(before: Series, after: Series, protocol: 'http' | 'grpc'): object {
  const [name, match] = protocol === 'http' ? ['http_request_duration_seconds', 'route="/recommend"'] : ['grpc_server_handling_seconds', '"Recommend"'];
  const count = delta(before, after, `${name}_count`, match);
  if (count <= 0) return { requests: 0 };
  const ms = (x: number) => (1000 * x) / count;
  const stages: Record<string, number> = {};
  for (const st of ['tokenize', 'queue', 'inference', 'search', 'select']) stages[st] = ms(delta(before, after, 'recommender_stage_duration_seconds_sum', `stage="${st}"`));
  const requestMs = ms(delta(before, after, `${name}_sum`, match));
  const batches = delta(before, after, 'recommender_batch_size_count');
  return {
    requests: count, request_ms: requestMs, stages_ms: stages,
    api_ms: requestMs - Object.values(stages).reduce((a, b) => a + b, 0),
    mean_batch_size: batches > 0 ? delta(before, after, 'recommender_batch_size_sum') / batches : null,
  };
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

/** One line of the goal "the service adds under 2 ms p50 over encoder + search". */
interface OverheadRow {
  mode: string;
  protocol: 'http' | 'grpc';
  request_p50_ms: number;
  in_process_p50_ms: number;
  overhead_p50_ms: number;
  goal_ms: number;
  met: boolean;
  /** The server's own view (means): batch wait + API = request time − tokenize − inference − search − select. */
  server_added_ms: number | null;
  server_met: boolean | null;
  server: object;
}

const GOAL_MS = 2;

async function loadRuns(label: string, httpPort: number, grpcPort: number, bodies: string[], grpcRequests: RecommendRequest[], inProcess: (i: number) => Promise<unknown>, overhead: OverheadRow[]): Promise<object[]> {
  const runs: object[] = [];
  // The precomputed-vector server has no pipeline stages; its metrics still time the requests.
  const measured = async <T extends object>(protocol: 'http' | 'grpc', run: () => Promise<T>): Promise<T & { server: object }> => {
    const before = await scrape(httpPort);
    const r = await run();
    return { ...r, server: serverAccount(before, await scrape(httpPort), protocol) };
  };
  // Sequential, one client: the overhead split, for REST and for gRPC.
  const poster = httpPoster(httpPort);
  const grpcClient = new RecommenderClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const grpcCall = (req: RecommendRequest) => new Promise<void>((resolve, reject) => grpcClient.recommend(req, (err) => (err ? reject(err) : resolve())));
  const n = Math.min(N_PAIRED, bodies.length);
  const remotes = { http: (i: number) => poster.post(bodies[i]), grpc: (i: number) => grpcCall(grpcRequests[i]) };
  try {
    for (const protocol of ['http', 'grpc'] as const) {
      for (let i = 0; i < 3; i++) await remotes[protocol](i); // connect + warm up
      const r = await measured(protocol, async () => sequentialOverhead(remotes[protocol], n, inProcess));
      const [remote, local] = [summarize(r.remote), summarize(r.local)];
      const acc = r.server as { stages_ms?: Record<string, number>; api_ms?: number };
      const added = acc.stages_ms && acc.api_ms !== undefined ? acc.stages_ms.queue + acc.api_ms : null;
      const row: OverheadRow = {
        mode: label, protocol, request_p50_ms: remote.p50_ms, in_process_p50_ms: local.p50_ms, overhead_p50_ms: remote.p50_ms - local.p50_ms,
        goal_ms: GOAL_MS, met: remote.p50_ms - local.p50_ms < GOAL_MS, server_added_ms: added, server_met: added === null ? null : added < GOAL_MS, server: r.server,
      };
      overhead.push(row);
      const stages = Object.entries(acc.stages_ms ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
      log(`${label} ${protocol} sequential: p50 ${remote.p50_ms.toFixed(2)} ms, in-process p50 ${local.p50_ms.toFixed(2)} ms, overhead p50 ${row.overhead_p50_ms.toFixed(2)} ms (${row.met ? 'met' : 'missed'}); server means: ${stages}, API ${acc.api_ms?.toFixed(2)} ms (batch wait + API ${added?.toFixed(2)} ms)`);
      // The REST line keeps its place in runs (the report's tables read it); gRPC's is in overhead only.
      if (protocol === 'http') runs.push({ mode: label, protocol: 'http-sequential', concurrency: 1, ...remote, in_process: local, overhead: { p50_ms: row.overhead_p50_ms }, server: r.server });
    }
  } finally {
    poster.close();
    grpcClient.close();
  }
  for (const c of CONCURRENCY) {
    const h = (await measured('http', () => httpLoad(httpPort, bodies, c))) as unknown as Record<string, number>;
    runs.push({ mode: label, ...h });
    log(`${label} http c=${c}: ${h.rps.toFixed(1)} req/s, p50 ${h.p50_ms} ms, p90 ${h.p90_ms} ms, p99 ${h.p99_ms} ms (non-2xx ${h.non2xx})`);
    const g = (await measured('grpc', () => grpcLoad(grpcPort, grpcRequests, c))) as unknown as Record<string, number>;
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

  const local = await components(indexPath, studio);
  const runs: object[] = [];
  const overhead: OverheadRow[] = [];

  // Full path: the real service entry point with its default batching (config/defaults.json: no wait,
  // a lone request is dispatched at once), so no separate no-wait run is needed.
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
    log(`service (full) ready in ${startS.toFixed(1)} s (HTTP ${httpPort}, gRPC ${grpcPort})`);
    runs.push(...(await loadRuns('full', httpPort, grpcPort, bodies, grpcRequests, (i) => local.rec.recommend([local.topics[i]]), overhead)));
    runs.push({ mode: 'full', protocol: 'startup', seconds: startS });
  } finally {
    await stop(server);
  }

  // Precomputed topic vectors: search + selection + API.
  const [hp, gp] = [await freePort(), await freePort()];
  const pre = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'service_precomputed.ts'), indexPath, String(hp), String(gp)], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitReady(pre, hp, 'the precomputed-vector server');
    const searchOnly = async (i: number) => rankAndSelect(local.index, [local.embedded[i % local.embedded.length]], { languages: [local.topics[i].language], params: local.params });
    runs.push(...(await loadRuns('precomputed', hp, gp, bodies, grpcRequests, searchOnly, overhead)));
  } finally {
    await stop(pre);
  }
  await local.rec.close();
  writeResult('service', { bundle: choice, items: N_ITEMS, graph: GRAPH, duration_s: DURATION_S, threads: THREADS, vectors: vectors.meta, in_process: local.result, runs, overhead, load_average_before: loadBefore, load_average_after: loadAverage() });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
