// Wraps any RecommenderService (the real core or the double) and records what the API layer passed
// to it, so tests can check the wire → core mapping (ancestor order, options) on the real thing too.
import type { RecommenderService } from '../../src/types.js';

export type Recorded = { method: string; args: any[] };

export function recording<T extends RecommenderService>(inner: T): { service: RecommenderService; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const service = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop !== 'ready' && prop !== 'info') calls.push({ method: String(prop), args: structuredClone(args) });
        return value.apply(target, args);
      };
    },
  });
  return { service, calls };
}
