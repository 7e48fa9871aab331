// Runs an app built by buildHttpApp on 127.0.0.1 with a free port, for tests that use real fetch.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { buildHttpApp, type HttpConfig } from '../../src/app.js';
import { createMetrics, type ServiceMetrics } from '../../src/metrics.js';
import { DEFAULTS } from '../../src/defaults.js';
import type { RecommenderService } from '../../src/types.js';

export interface RunningApp {
  url: string;
  metrics: ServiceMetrics;
  close(): Promise<void>;
  /** fetch + JSON body; `body` objects are sent as JSON. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; text: string; headers: Headers }>;
}

export const TEST_CONFIG: HttpConfig = {
  maxBodyBytes: DEFAULTS.service.max_body_bytes,
  maxTextChars: DEFAULTS.service.max_text_chars,
  maxTopicsPerRequest: DEFAULTS.service.max_topics_per_request,
};

export async function startApp(recommender: RecommenderService, config: Partial<HttpConfig> = {}): Promise<RunningApp> {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.setInfoSource(() => ({ info: recommender.info(), ready: recommender.ready() }));
  const app = buildHttpApp({ config: { ...TEST_CONFIG, ...config }, recommender, metrics, logger: pino({ level: 'silent' }) });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    metrics,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
        if (!('content-type' in headers)) (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON (e.g. /metrics) */
      }
      return { status: res.status, json, text, headers: res.headers };
    },
  };
}
