import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError, HelpRequested, SETTINGS, settingsTableMarkdown } from '../src/config.js';
import { DEFAULTS, REPO_ROOT } from '../src/defaults.js';

function fakeBundle(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'config-bundle-'));
  writeFileSync(path.join(dir, 'manifest.json'), '{}');
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults come from config/defaults.json when only BUNDLE_PATH is set', () => {
  const bundle = fakeBundle();
  const config = loadConfig([], { BUNDLE_PATH: bundle });
  assert.deepEqual(config.bundlePaths, [bundle]);
  assert.equal(config.httpPort, DEFAULTS.service.http_port);
  assert.equal(config.grpcPort, DEFAULTS.service.grpc_port);
  assert.equal(config.maxTopicsPerRequest, DEFAULTS.service.max_topics_per_request);
  assert.equal(config.maxBodyBytes, DEFAULTS.service.max_body_bytes);
  assert.equal(config.hnswEfSearch, DEFAULTS.index.hnsw_ef_search);
  assert.equal(config.selectionMargin, undefined, 'margin left to the bundle manifest');
  assert.equal(config.executionProvider, 'cpu');
  assert.equal(config.logLevel, 'info');
});

test('environment variables are parsed and flags win over them', () => {
  const a = fakeBundle();
  const b = fakeBundle();
  const config = loadConfig(['--http-port', '9001', '--log-level=debug'], {
    BUNDLE_PATH: `${a}, ${b}`,
    HTTP_PORT: '9000',
    GRPC_PORT: '9100',
    SELECTION_MARGIN: '0.2',
    EXECUTION_PROVIDER: 'CUDA',
    LOG_LEVEL: 'warn',
    MAX_BATCH_WAIT_MS: '2.5',
  });
  assert.deepEqual(config.bundlePaths, [a, b]);
  assert.equal(config.httpPort, 9001);
  assert.equal(config.grpcPort, 9100);
  assert.equal(config.selectionMargin, 0.2);
  assert.equal(config.executionProvider, 'cuda');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.maxBatchWaitMs, 2.5);
});

test('an empty environment variable counts as unset', () => {
  const config = loadConfig([], { BUNDLE_PATH: fakeBundle(), HTTP_PORT: '', INDEX_PATH: '  ' });
  assert.equal(config.httpPort, DEFAULTS.service.http_port);
  assert.equal(config.indexPath, undefined);
});

test('every bad value is reported with the variable that holds it', () => {
  const problems = problemsOf(() =>
    loadConfig([], {
      BUNDLE_PATH: fakeBundle(),
      HTTP_PORT: 'abc',
      GRPC_PORT: '70000',
      SELECTION_MARGIN: '1.5',
      ENCODER_VARIANT: 'huge',
      MAX_TOPICS_PER_REQUEST: '0',
      LOG_LEVEL: 'loud',
    }),
  );
  assert.equal(problems.length, 6, problems.join('\n'));
  assert.ok(problems.includes("HTTP_PORT: must be an integer 0–65535, got 'abc'"), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('GRPC_PORT: ') && p.includes("'70000'")));
  assert.ok(problems.some((p) => p.startsWith('SELECTION_MARGIN: ') && p.includes('[0, 1)')));
  assert.ok(problems.some((p) => p.startsWith('ENCODER_VARIANT: must be one of full, distilled, int8, distilled-int8')));
  assert.ok(problems.some((p) => p.startsWith('MAX_TOPICS_PER_REQUEST: ')));
  assert.ok(problems.some((p) => p.startsWith('LOG_LEVEL: ')));
});

test('a bad flag value names both the variable and the flag', () => {
  const problems = problemsOf(() => loadConfig(['--max-text-chars', '12x'], { BUNDLE_PATH: fakeBundle() }));
  assert.deepEqual(problems, ["MAX_TEXT_CHARS (--max-text-chars): must be an integer ≥ 1, got '12x'"]);
});

test('BUNDLE_PATH is required and must be a bundle folder', () => {
  assert.deepEqual(problemsOf(() => loadConfig([], {})), ['BUNDLE_PATH: required (or --bundle), not set']);
  const missing = path.join(os.tmpdir(), 'no-such-bundle-dir-xyz');
  assert.match(problemsOf(() => loadConfig([], { BUNDLE_PATH: missing }))[0], /^BUNDLE_PATH: no such directory/);
  const notBundle = mkdtempSync(path.join(os.tmpdir(), 'not-a-bundle-'));
  assert.match(problemsOf(() => loadConfig([], { BUNDLE_PATH: notBundle }))[0], /^BUNDLE_PATH: .*has no manifest\.json/);
});

test('TOPICS_PATH must be an existing file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'topics-'));
  assert.match(problemsOf(() => loadConfig([], { BUNDLE_PATH: fakeBundle(), TOPICS_PATH: dir }))[0], /^TOPICS_PATH: .*is a directory/);
});

test('HTTP_PORT and GRPC_PORT must differ', () => {
  const problems = problemsOf(() => loadConfig([], { BUNDLE_PATH: fakeBundle(), HTTP_PORT: '9000', GRPC_PORT: '9000' }));
  assert.deepEqual(problems, ['GRPC_PORT: must differ from HTTP_PORT (both 9000)']);
});

test('unknown flags are rejected; --help lists every variable', () => {
  assert.match(problemsOf(() => loadConfig(['--no-such-flag', 'x'], { BUNDLE_PATH: fakeBundle() }))[0], /unknown option '--no-such-flag'/);
  try {
    loadConfig(['--help'], {});
    assert.fail('expected HelpRequested');
  } catch (err) {
    assert.ok(err instanceof HelpRequested);
    for (const s of SETTINGS) assert.ok(err.text.includes(s.env) && err.text.includes(s.flag), s.env);
  }
});

test('every setting has a unique variable and flag, and the README table is the generated one', () => {
  assert.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length);
  assert.equal(new Set(SETTINGS.map((s) => s.flag)).size, SETTINGS.length);
  const contractVariables = ['BUNDLE_PATH', 'INDEX_PATH', 'TOPICS_PATH', 'HTTP_PORT', 'GRPC_PORT', 'HOST', 'ENCODER_VARIANT',
    'EXECUTION_PROVIDER', 'ORT_INTRA_OP_THREADS', 'ORT_INTER_OP_THREADS', 'MAX_BATCH_TOKENS', 'MAX_BATCH_WAIT_MS',
    'SELECTION_MARGIN', 'MAX_CANDIDATES', 'MAX_TOPICS_PER_REQUEST', 'MAX_TEXT_CHARS', 'MAX_BODY_BYTES', 'INDEX_EXACT_BELOW',
    'HNSW_M', 'HNSW_EF_CONSTRUCTION', 'HNSW_EF_SEARCH', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS'];
  // Settings beyond that list, each added on purpose (a stray one fails here).
  const tuningVariables = ['ORT_SPINNING'];
  assert.deepEqual(SETTINGS.map((s) => s.env).sort(), [...contractVariables, ...tuningVariables].sort());
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes(settingsTableMarkdown()), 'README.md must contain the table printed by settingsTableMarkdown() (regenerate it)');
});

test('ORT_SPINNING is off unless asked, accepts on/off only', () => {
  assert.equal(loadConfig([], { BUNDLE_PATH: fakeBundle() }).ortSpinning, 'off');
  assert.equal(loadConfig(['--ort-spinning', 'on'], { BUNDLE_PATH: fakeBundle() }).ortSpinning, 'on');
  assert.match(problemsOf(() => loadConfig([], { BUNDLE_PATH: fakeBundle(), ORT_SPINNING: 'yes' }))[0], /^ORT_SPINNING: must be one of off, on/);
});
