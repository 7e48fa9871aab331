// Downloads a .tar.gz archive and unpacks it into a folder, streaming (no temporary copy), with an
// optional SHA-256 check. Used by the Helm chart's `models.source: url` init container to fetch the
// artifact bundle and the index snapshot; runs in the service image (node + tar, no curl).
//
// Usage: node fetch-archive.mjs URL DEST_DIR [SHA256_HEX]
// Exit 0 when DEST_DIR holds the unpacked archive; 1 (DEST_DIR removed) on any failure.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [url, dest, expectedSha256 = ''] = process.argv.slice(2);

function fail(message) {
  console.error(`fetch-archive: ${message}`);
  if (dest) rmSync(dest, { recursive: true, force: true });
  process.exit(1);
}

if (!url || !dest) fail('usage: node fetch-archive.mjs URL DEST_DIR [SHA256_HEX]');
if (!/^https?:\/\//.test(url)) fail(`${url}: only http(s) URLs are supported`);
if (expectedSha256 && !/^[0-9a-fA-F]{64}$/.test(expectedSha256)) fail(`sha256 '${expectedSha256}' is not 64 hex digits`);

mkdirSync(dest, { recursive: true });
let response;
try {
  response = await fetch(url);
} catch (err) {
  fail(`${url}: ${err instanceof Error ? err.message : String(err)}`);
}
if (!response.ok || !response.body) fail(`${url}: HTTP ${response.status}`);

const hash = createHash('sha256');
let bytes = 0;
const hashing = new Transform({
  transform(chunk, _encoding, done) {
    hash.update(chunk);
    bytes += chunk.length;
    done(null, chunk);
  },
});
// tar reads the archive from stdin; --no-same-owner because the pod runs as a non-root user.
const tar = spawn('tar', ['-xzf', '-', '--no-same-owner', '-C', dest], { stdio: ['pipe', 'inherit', 'inherit'] });
const tarExit = new Promise((resolve) => tar.on('close', resolve));
try {
  await pipeline(Readable.fromWeb(response.body), hashing, tar.stdin);
} catch (err) {
  fail(`${url}: download or unpack interrupted: ${err instanceof Error ? err.message : String(err)}`);
}
const code = await tarExit;
if (code !== 0) fail(`${url}: tar exited with ${code} (not a .tar.gz?)`);
const actual = hash.digest('hex');
if (expectedSha256 && actual !== expectedSha256.toLowerCase()) {
  fail(`${url}: sha256 ${actual} does not match the expected ${expectedSha256.toLowerCase()}`);
}
console.log(`fetch-archive: ${url} -> ${dest} (${bytes} bytes, sha256 ${actual})`);
