// Service configuration: every setting has an environment variable and a command-line flag (flags
// win), is validated once at start with a message naming the variable, and takes its default from
// config/defaults.json (through defaults.ts) or, for service-only knobs, from the table below.
// The SETTINGS table is the single source of truth: the parser, `--help` and the README table
// (checked by test/config.test.ts) are all generated from it.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { DEFAULTS } from './defaults.js';

export const ENCODER_VARIANTS = ['full', 'distilled', 'int8', 'distilled-int8'] as const;
export const EXECUTION_PROVIDERS = ['cpu', 'cuda'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServiceConfig {
  bundlePaths: string[];
  indexPath?: string;
  topicsPath?: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  encoderVariant?: (typeof ENCODER_VARIANTS)[number];
  executionProvider: (typeof EXECUTION_PROVIDERS)[number];
  ortIntraOpThreads?: number;
  ortInterOpThreads?: number;
  ortSpinning: 'off' | 'on';
  maxBatchTokens: number;
  maxBatchWaitMs: number;
  selectionMargin?: number;
  maxCandidates?: number;
  maxTopicsPerRequest: number;
  maxTextChars: number;
  maxBodyBytes: number;
  indexExactBelow: number;
  hnswM: number;
  hnswEfConstruction: number;
  hnswEfSearch: number;
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownTimeoutMs: number;
}

/** Raised for invalid settings; `problems` has one line per bad variable. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** A usage request (--help) rather than an error: the caller prints `text` and exits 0. */
export class HelpRequested extends Error {
  constructor(public readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

type Parser<T> = (raw: string) => T; // throws Error(message without the variable name)

interface Setting<K extends keyof ServiceConfig = keyof ServiceConfig> {
  key: K;
  env: string;
  flag: string;
  /** Default value; undefined = "not set" (the core then uses the bundle manifest's value). */
  default?: ServiceConfig[K];
  /** How the default reads in docs when it is not a plain value. */
  defaultText?: string;
  meaning: string;
  parse: Parser<ServiceConfig[K]>;
}

function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}–${max}`;
      throw new Error(`must be an integer ${range}, got '${raw}'`);
    }
    return value;
  };
}

function decimal(min: number, max: number, openMax = false): Parser<number> {
  return (raw) => {
    const value = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(value) && value >= min && (openMax ? value < max : value <= max);
    if (!ok) throw new Error(`must be a number in [${min}, ${max}${openMax ? ')' : ']'}, got '${raw}'`);
    return value;
  };
}

function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim().toLowerCase() as T;
    if (!values.includes(value)) throw new Error(`must be one of ${values.join(', ')}, got '${raw}'`);
    return value;
  };
}

/** Relative paths mean relative to where the user ran the command: `npm -w` changes into the
 * workspace folder but records the invoking folder in INIT_CWD (the CLI does the same). */
export function resolveUserPath(raw: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), raw.trim());
}

function existingPath(kind: 'directory' | 'file'): Parser<string> {
  return (raw) => {
    const resolved = resolveUserPath(raw);
    if (!existsSync(resolved)) throw new Error(`no such ${kind} '${raw}'`);
    const isDir = statSync(resolved).isDirectory();
    if (kind === 'directory' && !isDir) throw new Error(`'${raw}' is not a directory`);
    if (kind === 'file' && isDir) throw new Error(`'${raw}' is a directory, expected a file`);
    return resolved;
  };
}

const bundleList: Parser<string[]> = (raw) => {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`must name at least one bundle folder, got '${raw}'`);
  return parts.map((p) => {
    const dir = existingPath('directory')(p);
    if (!existsSync(path.join(dir, 'manifest.json'))) throw new Error(`'${p}' has no manifest.json (not an artifact bundle)`);
    return dir;
  });
};

const nonEmpty: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw.trim();
};

const S = DEFAULTS.service;
const I = DEFAULTS.index;

function setting<K extends keyof ServiceConfig>(s: Setting<K>): Setting<K> {
  return s;
}

/** Every setting, in the order of the README table. */
export const SETTINGS: Setting[] = [
  setting({ key: 'bundlePaths', env: 'BUNDLE_PATH', flag: '--bundle', defaultText: '(required)', parse: bundleList,
    meaning: 'artifact bundle folder; several comma-separated form an ensemble (mean cosine)' }),
  setting({ key: 'indexPath', env: 'INDEX_PATH', flag: '--index', defaultText: '(none: in-memory only)', parse: (raw) => resolveUserPath(nonEmpty(raw)),
    meaning: 'content index snapshot folder; loaded at start, written on shutdown (created if missing)' }),
  setting({ key: 'topicsPath', env: 'TOPICS_PATH', flag: '--topics', defaultText: '(none)', parse: existingPath('file'),
    meaning: 'LECR topics.csv whose topics become known (recommend by `topic_ids`)' }),
  setting({ key: 'host', env: 'HOST', flag: '--host', default: '0.0.0.0', parse: nonEmpty,
    meaning: 'interface both servers listen on' }),
  setting({ key: 'httpPort', env: 'HTTP_PORT', flag: '--http-port', default: S.http_port, parse: integer(0, 65535),
    meaning: 'REST port (0 = any free port, logged at start)' }),
  setting({ key: 'grpcPort', env: 'GRPC_PORT', flag: '--grpc-port', default: S.grpc_port, parse: integer(0, 65535),
    meaning: 'gRPC port (0 = any free port, logged at start)' }),
  setting({ key: 'encoderVariant', env: 'ENCODER_VARIANT', flag: '--encoder-variant', defaultText: "manifest's `default_variant`", parse: oneOf(ENCODER_VARIANTS),
    meaning: `encoder variant to load: ${ENCODER_VARIANTS.join(' \\| ')}` }),
  setting({ key: 'executionProvider', env: 'EXECUTION_PROVIDER', flag: '--execution-provider', default: 'cpu', parse: oneOf(EXECUTION_PROVIDERS),
    meaning: 'onnxruntime execution provider (cuda falls back to cpu with a log line)' }),
  setting({ key: 'ortIntraOpThreads', env: 'ORT_INTRA_OP_THREADS', flag: '--ort-intra-op-threads', defaultText: "onnxruntime's", parse: integer(1, 1024),
    meaning: 'threads inside one ONNX operator (tie to the CPU limit)' }),
  setting({ key: 'ortInterOpThreads', env: 'ORT_INTER_OP_THREADS', flag: '--ort-inter-op-threads', defaultText: "onnxruntime's", parse: integer(1, 1024),
    meaning: 'threads across independent ONNX operators' }),
  setting({ key: 'ortSpinning', env: 'ORT_SPINNING', flag: '--ort-spinning', default: 'off', parse: oneOf(['off', 'on'] as const),
    meaning: 'busy-wait in ONNX Runtime thread pools: on only with dedicated (pinned) cores — ~25 % more texts/s at batch 1 there, half on a shared CPU' }),
  setting({ key: 'maxBatchTokens', env: 'MAX_BATCH_TOKENS', flag: '--max-batch-tokens', default: S.max_batch_tokens, parse: integer(1),
    meaning: 'token budget of one dynamic encoder batch' }),
  setting({ key: 'maxBatchWaitMs', env: 'MAX_BATCH_WAIT_MS', flag: '--max-batch-wait-ms', default: S.max_batch_wait_ms, parse: decimal(0, 60000),
    meaning: 'longest a request waits for others to fill a batch (ms)' }),
  setting({ key: 'selectionMargin', env: 'SELECTION_MARGIN', flag: '--selection-margin', defaultText: `manifest's \`selection.margin\` (${DEFAULTS.selection.margin})`, parse: decimal(0, 1, true),
    meaning: 'dynamic relative margin: keep items with similarity ≥ (1 − margin) · best' }),
  setting({ key: 'maxCandidates', env: 'MAX_CANDIDATES', flag: '--max-candidates', defaultText: `manifest's \`selection.max_candidates\` (${DEFAULTS.selection.max_candidates})`, parse: integer(1, 100000),
    meaning: 'nearest candidates considered before the margin cut' }),
  setting({ key: 'maxTopicsPerRequest', env: 'MAX_TOPICS_PER_REQUEST', flag: '--max-topics-per-request', default: S.max_topics_per_request, parse: integer(1),
    meaning: 'most topics (or content items, or ids) in one request; more → 400' }),
  setting({ key: 'maxTextChars', env: 'MAX_TEXT_CHARS', flag: '--max-text-chars', default: S.max_text_chars, parse: integer(1),
    meaning: 'longest title, description or text accepted (characters); longer → 400' }),
  setting({ key: 'maxBodyBytes', env: 'MAX_BODY_BYTES', flag: '--max-body-bytes', default: S.max_body_bytes, parse: integer(1),
    meaning: 'largest REST body and gRPC message (bytes); larger → 413 / RESOURCE_EXHAUSTED' }),
  setting({ key: 'indexExactBelow', env: 'INDEX_EXACT_BELOW', flag: '--index-exact-below', default: I.exact_below, parse: integer(0),
    meaning: 'a language index with fewer items is searched exactly, else with HNSW' }),
  setting({ key: 'hnswM', env: 'HNSW_M', flag: '--hnsw-m', default: I.hnsw_m, parse: integer(2, 1024),
    meaning: 'HNSW graph degree' }),
  setting({ key: 'hnswEfConstruction', env: 'HNSW_EF_CONSTRUCTION', flag: '--hnsw-ef-construction', default: I.hnsw_ef_construction, parse: integer(1),
    meaning: 'HNSW build-time beam width' }),
  setting({ key: 'hnswEfSearch', env: 'HNSW_EF_SEARCH', flag: '--hnsw-ef-search', default: I.hnsw_ef_search, parse: integer(1),
    meaning: 'HNSW query-time beam width (recall vs speed)' }),
  setting({ key: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', default: 'info', parse: oneOf(LOG_LEVELS),
    meaning: `pino log level: ${LOG_LEVELS.join(' \\| ')}` }),
  setting({ key: 'shutdownTimeoutMs', env: 'SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', default: 10000, parse: integer(0),
    meaning: 'on SIGTERM/SIGINT, how long in-flight requests may take before connections are cut' }),
];

function optionName(flag: string): string {
  // commander's attribute name for "--http-port" is "httpPort"
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function buildCommand(): Command {
  const program = new Command('recommender')
    .description('Curriculum recommender service: REST (Kolibri Studio compatible + /v1) and gRPC')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .allowExcessArguments(false);
  for (const s of SETTINGS) program.option(`${s.flag} <value>`, `${s.meaning} [env ${s.env}]`);
  return program;
}

/** Usage text listing every flag with its environment variable and default. */
export function helpText(): string {
  const lines = ['Usage: recommender [options]   (every option can also be set by its environment variable; flags win)', ''];
  for (const s of SETTINGS) {
    lines.push(`  ${s.flag} <value>`.padEnd(34) + `${s.env} (default: ${defaultText(s)})`);
    lines.push(' '.repeat(34) + s.meaning.replace(/\\\|/g, '|'));
  }
  return lines.join('\n');
}

function defaultText(s: Setting): string {
  return s.defaultText ?? String(s.default);
}

/**
 * Resolves the configuration from flags (argv without node and script) and environment variables.
 * Throws ConfigError listing every bad setting, or HelpRequested for --help / -h.
 */
export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(helpText());
  const program = buildCommand();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new ConfigError([err.message.replace(/^error: /, '')]);
    throw err;
  }
  const flags = program.opts<Record<string, string | undefined>>();
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromFlag = flags[optionName(s.flag)];
    const fromEnv = env[s.env];
    // An empty environment variable counts as unset (k8s manifests often template empty values).
    const raw = fromFlag ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : undefined);
    if (raw === undefined) {
      if (s.default === undefined && s.defaultText === '(required)') problems.push(`${s.env}: required (or ${s.flag}), not set`);
      else config[s.key] = s.default;
      continue;
    }
    try {
      config[s.key] = s.parse(raw);
    } catch (err) {
      const source = fromFlag !== undefined ? `${s.env} (${s.flag})` : s.env;
      problems.push(`${source}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0 && config.httpPort === config.grpcPort && config.httpPort !== 0) {
    problems.push(`GRPC_PORT: must differ from HTTP_PORT (both ${String(config.httpPort)})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as unknown as ServiceConfig;
}

/** The README's settings table (Markdown), generated from SETTINGS. */
export function settingsTableMarkdown(): string {
  const rows = ['| variable | flag | default | meaning |', '| --- | --- | --- | --- |'];
  for (const s of SETTINGS) rows.push(`| \`${s.env}\` | \`${s.flag}\` | ${s.defaultText ?? `\`${String(s.default)}\``} | ${s.meaning} |`);
  return rows.join('\n');
}
