import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ArtifactError } from '../src/errors.js';
import { DEFAULTS } from '../src/defaults.js';
import { loadBundle, readGolden, sha256File } from '../src/bundle/index.js';
import { Encoder } from '../src/encoder/index.js';
import { copyBundle, tinyBundle } from './core-fixtures.js';

const isArtifactError = (pattern: RegExp) => (e: unknown) => e instanceof ArtifactError && pattern.test(e.message);

function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(m);
  fs.writeFileSync(file, JSON.stringify(m));
}

test('the tiny bundle loads, verified, with its identity', async () => {
  const b = await loadBundle(tinyBundle());
  assert.equal(b.variant, b.manifest.default_variant);
  assert.equal(b.identity.sha256, await sha256File(b.modelPath));
  assert.equal(b.identity.dim, b.manifest.dim);
  assert.equal(b.manifest.text_format, DEFAULTS.text_format.version);
  assert.ok(readGolden(b).length > 0);
});

test('a file whose checksum differs is refused, naming the file', async () => {
  const dir = copyBundle(tinyBundle());
  fs.appendFileSync(path.join(dir, 'tokenizer.json'), ' ');
  await assert.rejects(loadBundle(dir), isArtifactError(/checksum mismatch for tokenizer file tokenizer\.json/));
});

test('a missing variant file is refused, naming it', async () => {
  const dir = copyBundle(tinyBundle());
  const b = await loadBundle(dir);
  fs.rmSync(b.modelPath);
  await assert.rejects(loadBundle(dir), isArtifactError(new RegExp(`variants\\.${b.variant} file ${b.variantInfo.file} is missing`)));
});

test('another text_format is refused', async () => {
  const dir = copyBundle(tinyBundle());
  editManifest(dir, (m) => (m.text_format = 'lecr-breadcrumb-v0'));
  await assert.rejects(loadBundle(dir), isArtifactError(/text_format "lecr-breadcrumb-v0" does not match this service's "lecr-breadcrumb-v1"/));
});

test('manifest fields are checked by name', async () => {
  const dir = copyBundle(tinyBundle());
  editManifest(dir, (m) => delete m.max_length);
  await assert.rejects(loadBundle(dir), isArtifactError(/field "max_length" is missing/));
  editManifest(dir, (m) => ((m.max_length = 96), (m.selection.margin = 2)));
  await assert.rejects(loadBundle(dir), isArtifactError(/field "selection\.margin" must be a number in \[0, 1\)/));
  editManifest(dir, (m) => ((m.selection.margin = 0.16), (m.variants.full = { file: '../x.onnx', sha256: 'a'.repeat(64) })));
  await assert.rejects(loadBundle(dir), isArtifactError(/field "variants\.full\.file" must be a file name inside the bundle/));
});

test('an unknown variant is refused with the list of variants', async () => {
  await assert.rejects(loadBundle(tinyBundle(), { variant: 'nope' }), isArtifactError(/no variant "nope" \(the bundle has: /));
});

test('a manifest dim that disagrees with the ONNX output is refused', async () => {
  const dir = copyBundle(tinyBundle());
  editManifest(dir, (m) => (m.dim = m.dim + 1));
  const b = await loadBundle(dir);
  await assert.rejects(Encoder.create(b), isArtifactError(/ONNX output "embedding" has dimension \d+, manifest dim is \d+/));
});
