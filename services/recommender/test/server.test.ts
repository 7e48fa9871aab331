// The real process: node --import tsx src/server.ts on free ports against the tiny bundle. It must
// listen, become ready, serve a Studio-shaped round trip (REST) and report SERVING (gRPC health),
// then on SIGTERM drain, write the index snapshot and exit 0; a second start reads that snapshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { tinyBundle, tmpDir } from './core-fixtures.js';

const SERVICE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Started {
  child: ChildProcess;
  logs: any[];
  stderr: () => string;
  httpPort: number;
  grpcPort: number;
}

function start(env: Record<string, string>, waitForListening = true): Promise<Started> & { child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: SERVICE_DIR,
    env: { ...process.env, HOST: '127.0.0.1', HTTP_PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: any[] = [];
  let err = '';
  let buffered = '';
  child.stderr!.on('data', (d) => (err += d));
  const started = new Promise<Started>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const entry = JSON.parse(line); // every stdout line is a JSON log record
        logs.push(entry);
        if (waitForListening && entry.httpPort && entry.grpcPort) resolve({ child, logs, stderr: () => err, httpPort: entry.httpPort, grpcPort: entry.grpcPort });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${err}`)));
  });
  return Object.assign(started, { child });
}

async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('not ready in time');
}

/** Sends SIGTERM unless one was sent already (a second one means "exit now"), then waits for the exit. */
async function stop(s: Started, alreadySignalled = false): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return { code: s.child.exitCode, signal: s.child.signalCode };
  const exited = once(s.child, 'exit');
  if (!alreadySignalled) s.child.kill('SIGTERM');
  const [code, signal] = await exited;
  return { code, signal };
}

function healthStatus(port: number): Promise<string> {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  return new Promise((resolve, reject) =>
    client.check({ service: '' }, (err: Error | null, res: { status: string }) => {
      client.close();
      return err ? reject(err) : resolve(res.status);
    }),
  );
}

test('invalid settings stop the process with exit code 2 and a line naming the variable', async () => {
  const child = start({ BUNDLE_PATH: tinyBundle(), HTTP_PORT: 'abc' }, false);
  let stderr = '';
  child.child.stderr!.on('data', (d) => (stderr += d));
  const [code] = await once(child.child, 'exit');
  child.catch(() => {}); // the "exited early" rejection is expected here
  assert.equal(code, 2);
  assert.match(stderr, /HTTP_PORT: must be an integer 0–65535, got 'abc'/);
});

test('serve, Studio round trip, SIGTERM → clean exit with the snapshot written, restart reads it', async () => {
  const indexPath = path.join(tmpDir('server-index-'), 'snapshot');
  const env = { BUNDLE_PATH: tinyBundle(), INDEX_PATH: indexPath, SHUTDOWN_TIMEOUT_MS: '5000' };
  const first = await start(env);
  const url = `http://127.0.0.1:${first.httpPort}`;
  let signalled = false;
  try {
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    await waitReady(url);
    assert.equal(await healthStatus(first.grpcPort), 'SERVING');

    const channel = randomUUID();
    const resources = ['Adding fractions', 'Photosynthesis', 'Angles'].map((title) => ({
      id: randomUUID(), channel_id: channel, content_id: randomUUID(), channel_version: 1, title, description: '', language: 'en',
    }));
    const embed = await fetch(`${url}/embed-content`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resources, metadata: { channel_id: channel } }),
    });
    assert.equal(embed.status, 200);
    assert.deepEqual(await embed.json(), { status: 'OK', inserted: 3, updated: 0, skipped: 0 });

    const topic = { id: randomUUID(), channel_id: randomUUID(), title: 'Fractions', description: '', language: 'en' };
    const rec = await fetch(`${url}/recommend?override_threshold=true`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topics: [topic] }),
    });
    assert.equal(rec.status, 200);
    const body = (await rec.json()) as any;
    assert.equal(body.topics[0].id, topic.id);
    assert.deepEqual(body.topics[0].recommendations.map((r: any) => r.id).sort(), resources.map((r) => r.id).sort());
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /recommender_stage_duration_seconds_count\{stage="inference"\} [1-9]/, 'the core reports its stages');
    assert.match(metrics, /recommender_index_items\{language="en",kind="exact"\} 3/);

    // A request in flight when SIGTERM arrives (its body is still being sent) is finished.
    const payload = JSON.stringify({ topics: [topic] });
    const inFlight = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: first.httpPort, method: 'POST', path: '/recommend', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.write(payload.slice(0, 10));
      setTimeout(() => {
        first.child.kill('SIGTERM');
        signalled = true;
        setTimeout(() => req.end(payload.slice(10)), 300);
      }, 200);
    });
    const answered = await inFlight;
    assert.equal(answered.status, 200);
    assert.equal(answered.body.topics[0].id, topic.id);
  } finally {
    var result = await stop(first, signalled);
  }
  assert.deepEqual(result, { code: 0, signal: null }, first.stderr());
  const stopped = first.logs.find((l) => l.msg === 'stopped');
  assert.ok(stopped, 'logs its stop');
  assert.equal(stopped.drained, true);
  assert.ok(stopped.ms < 5000, `drained well before SHUTDOWN_TIMEOUT_MS despite keep-alive sockets (${stopped.ms} ms)`);
  assert.ok(existsSync(indexPath) && readdirSync(indexPath).length > 0, 'snapshot written on shutdown');

  const second = await start(env);
  try {
    const url2 = `http://127.0.0.1:${second.httpPort}`;
    await waitReady(url2);
    const info = (await (await fetch(`${url2}/v1/info`)).json()) as any;
    assert.equal(info.index.total, 3, 'the snapshot was loaded');
  } finally {
    const again = await stop(second);
    assert.deepEqual(again, { code: 0, signal: null }, second.stderr());
  }
});
