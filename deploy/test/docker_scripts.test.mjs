// Tests of the two scripts the image carries in deploy/docker/: the HEALTHCHECK probe and the
// archive fetcher of the chart's `models.source: url` init container, against a local HTTP server.
// Run: node --test deploy/test/docker_scripts.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DOCKER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'docker');

/** Runs a script with node; resolves to { code, output }. */
function run(script, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(DOCKER_DIR, script), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** An HTTP server on 127.0.0.1 whose routes map a path to [status, body]. */
async function serve(routes) {
  const server = createServer((req, res) => {
    const [status, body] = routes[req.url] ?? [404, 'not found'];
    res.writeHead(status);
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

describe('healthcheck.mjs', () => {
  let server;
  let port;
  before(async () => {
    ({ server } = await serve({ '/healthz': [200, 'ok'] }));
    port = String(server.address().port);
  });
  after(() => server.close());

  test('exits 0 when /healthz answers 200 on HTTP_PORT', async () => {
    const { code } = await run('healthcheck.mjs', [], { HTTP_PORT: port });
    assert.equal(code, 0);
  });

  test('exits 1 when /healthz answers an error status', async () => {
    const { server: sick } = await serve({ '/healthz': [503, 'loading'] });
    const { code, output } = await run('healthcheck.mjs', [], { HTTP_PORT: String(sick.address().port) });
    sick.close();
    assert.equal(code, 1);
    assert.match(output, /answered 503/);
  });

  test('exits 1 when nothing listens', async () => {
    const closed = await serve({});
    const freePort = String(closed.server.address().port);
    await new Promise((resolve) => closed.server.close(resolve));
    const { code, output } = await run('healthcheck.mjs', [], { HTTP_PORT: freePort });
    assert.equal(code, 1);
    assert.match(output, /unreachable/);
  });
});

describe('fetch-archive.mjs', () => {
  let work;
  let archive;
  let sha256;
  let server;
  let base;
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'fetch-archive-'));
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'nested'), { recursive: true });
    writeFileSync(path.join(src, 'manifest.json'), '{"name":"tiny"}');
    writeFileSync(path.join(src, 'nested', 'model.onnx'), Buffer.alloc(4096, 7));
    execFileSync('tar', ['-czf', path.join(work, 'bundle.tar.gz'), '-C', src, '.']);
    archive = readFileSync(path.join(work, 'bundle.tar.gz'));
    sha256 = createHash('sha256').update(archive).digest('hex');
    ({ server, base } = await serve({ '/bundle.tar.gz': [200, archive], '/broken.tar.gz': [200, 'not an archive'] }));
  });
  after(() => {
    server.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('downloads, checks the sha256 and unpacks', async () => {
    const dest = path.join(work, 'ok');
    const { code, output } = await run('fetch-archive.mjs', [`${base}/bundle.tar.gz`, dest, sha256]);
    assert.equal(code, 0, output);
    assert.equal(readFileSync(path.join(dest, 'manifest.json'), 'utf8'), '{"name":"tiny"}');
    assert.equal(readFileSync(path.join(dest, 'nested', 'model.onnx')).length, 4096);
    assert.match(output, new RegExp(`sha256 ${sha256}`));
  });

  test('a wrong sha256 fails and leaves no folder behind', async () => {
    const dest = path.join(work, 'bad-sha');
    const { code, output } = await run('fetch-archive.mjs', [`${base}/bundle.tar.gz`, dest, '0'.repeat(64)]);
    assert.equal(code, 1);
    assert.match(output, /does not match/);
    assert.equal(existsSync(dest), false);
  });

  test('an HTTP error fails, naming the status', async () => {
    const { code, output } = await run('fetch-archive.mjs', [`${base}/missing.tar.gz`, path.join(work, 'missing')]);
    assert.equal(code, 1);
    assert.match(output, /HTTP 404/);
  });

  test('something that is not a .tar.gz fails', async () => {
    const { code, output } = await run('fetch-archive.mjs', [`${base}/broken.tar.gz`, path.join(work, 'broken')]);
    assert.equal(code, 1);
    assert.match(output, /tar exited|interrupted/);
  });

  test('a malformed sha256 is refused before downloading', async () => {
    const { code, output } = await run('fetch-archive.mjs', [`${base}/bundle.tar.gz`, path.join(work, 'x'), 'abc']);
    assert.equal(code, 1);
    assert.match(output, /not 64 hex digits/);
  });
});
