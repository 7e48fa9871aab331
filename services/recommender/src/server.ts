// Process entry: validated config → logger → metrics → HTTP + gRPC listening (alive at once, ready
// once the model and index are loaded) → createRecommender → serve → graceful shutdown on
// SIGTERM/SIGINT: readiness off, stop accepting, let in-flight requests finish (at most
// SHUTDOWN_TIMEOUT_MS), flush the index snapshot (recommender.close()), exit 0.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadConfig, ConfigError, HelpRequested, type ServiceConfig } from './config.js';
import type { Logger } from './logger.js';
import type { RecommenderOptions } from './recommender.js';

export function recommenderOptions(config: ServiceConfig): Omit<RecommenderOptions, 'observer' | 'logger'> {
  return {
    bundlePaths: config.bundlePaths,
    indexPath: config.indexPath,
    topicsCsv: config.topicsPath,
    variant: config.encoderVariant,
    executionProvider: config.executionProvider,
    intraOpThreads: config.ortIntraOpThreads,
    interOpThreads: config.ortInterOpThreads,
    spinning: config.ortSpinning === 'on',
    maxBatchTokens: config.maxBatchTokens,
    maxBatchWaitMs: config.maxBatchWaitMs,
    margin: config.selectionMargin,
    maxCandidates: config.maxCandidates,
    exactBelow: config.indexExactBelow,
    hnswM: config.hnswM,
    hnswEfConstruction: config.hnswEfConstruction,
    hnswEfSearch: config.hnswEfSearch,
    maxTextChars: config.maxTextChars,
  };
}

function listenHttp(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function bindGrpc(server: grpc.Server, port: number, host: string): Promise<number> {
  // grpc-js wants IPv6 literals in brackets.
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

function withTimeout(promise: Promise<void>, ms: number, onTimeout: () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve(false);
    }, ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function runService(config: ServiceConfig, logger: Logger): Promise<void> {
  // Loaded only after the settings are valid, so --help and configuration errors answer at once.
  const [{ createMetrics }, { buildHttpApp, buildGrpcServer, DeferredRecommender }, { createRecommender }] = await Promise.all([
    import('./metrics.js'),
    import('./app.js'),
    import('./recommender.js'),
  ]);
  const metrics = createMetrics();
  const recommender = new DeferredRecommender();
  metrics.setInfoSource(() => ({ info: recommender.attached ? recommender.info() : null, ready: recommender.ready() }));

  const app = buildHttpApp({ config, recommender, metrics, logger });
  const http = createServer(app);
  // Slightly above common load-balancer idle timeouts, so the balancer closes idle sockets first.
  http.keepAliveTimeout = 65_000;
  const grpcServer = buildGrpcServer({ config, recommender, metrics, logger });

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    shuttingDown = true;
    const started = Date.now();
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: readiness off, draining requests');
    recommender.startDraining();
    grpcServer.refreshHealth();
    const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    // close() leaves keep-alive sockets open until they time out; a socket whose request has just
    // finished is idle, so sweep them until every in-flight request is done.
    const sweep = setInterval(() => http.closeIdleConnections(), 50);
    http.closeIdleConnections();
    void httpClosed.then(() => clearInterval(sweep));
    const grpcClosed = new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
    const drained = await withTimeout(Promise.all([httpClosed, grpcClosed]).then(() => {}), config.shutdownTimeoutMs, () => {
      logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing connections');
      http.closeAllConnections();
      grpcServer.forceShutdown();
    });
    let code = 0;
    try {
      await recommender.close(); // flushes the index snapshot
    } catch (err) {
      logger.error({ err }, 'closing the recommender failed (snapshot may not be written)');
      code = 1;
    }
    logger.info({ drained, ms: Date.now() - started, exitCode: code }, 'stopped');
    logger.flush(() => process.exit(code));
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const [httpPort, grpcPort] = await Promise.all([
    listenHttp(http, config.httpPort, config.host),
    bindGrpc(grpcServer, config.grpcPort, config.host),
  ]);
  logger.info({ host: config.host, httpPort, grpcPort }, 'listening (not ready until the recommender is loaded)');

  const loadStarted = Date.now();
  const core = await createRecommender({ ...recommenderOptions(config), observer: metrics.observer, logger });
  if (shuttingDown) {
    await core.close();
    return;
  }
  recommender.attach(core);
  grpcServer.refreshHealth();
  const info = core.info();
  logger.info(
    { ms: Date.now() - loadStarted, bundle: info.bundle.name, variant: info.bundle.variant, indexItems: info.index.total, knownTopics: info.knownTopics },
    'ready',
  );
}

async function main(): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.text}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { createLogger } = await import('./logger.js');
  const logger = createLogger({ level: config.logLevel });
  try {
    await runService(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    logger.flush(() => process.exit(1));
  }
}

await main();
