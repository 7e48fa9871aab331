// Main-thread handle on an ONNX Runtime session living in a worker thread (ort-worker.mjs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface SessionInfo {
  provider: 'cpu' | 'cuda';
  /** Why CUDA could not be used, when it was asked for and the session fell back to CPU. */
  warning?: string;
  inputNames: string[];
  outputNames: string[];
  outputMeta: { name: string; lastDim: number | string | undefined }[];
}

export interface SessionOptions {
  executionProvider: 'cpu' | 'cuda';
  intraOpThreads?: number;
  interOpThreads?: number;
  spinning?: boolean;
}

// Plain JavaScript beside this file (worker threads do not get the tsx loader).
const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ort-worker.mjs');

export class WorkerSession {
  private nextId = 1;
  private readonly inflight = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: SessionInfo,
  ) {
    worker.on('message', (msg: { type: string; id: number; data?: Float32Array; error?: string }) => {
      if (msg.type !== 'result') return;
      const job = this.inflight.get(msg.id);
      if (!job) return;
      this.inflight.delete(msg.id);
      if (this.inflight.size === 0) worker.unref(); // idle: do not keep the process alive
      if (msg.error !== undefined) job.reject(new Error(`ONNX Runtime inference failed: ${msg.error}`));
      else job.resolve(msg.data!);
    });
    worker.on('error', (err: Error) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('ONNX Runtime worker exited')));
    worker.unref();
  }

  static open(modelPath: string, opts: SessionOptions): Promise<WorkerSession> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_FILE, { workerData: { modelPath, ...opts } });
      const onMessage = (msg: { type: string; message?: string } & SessionInfo) => {
        worker.off('message', onMessage);
        if (msg.type === 'ready') resolve(new WorkerSession(worker, msg));
        else {
          void worker.terminate();
          reject(new Error(msg.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** One inference: int64 ids and mask of shape [n, length]; returns the named output's float data. */
  run(inputIds: BigInt64Array, mask: BigInt64Array, n: number, length: number, output: string): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('encoder closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inflight.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'run', id, inputIds, mask, n, length, output }, [inputIds.buffer as ArrayBuffer, mask.buffer as ArrayBuffer]);
    });
  }

  private failAll(err: Error): void {
    for (const job of this.inflight.values()) job.reject(err);
    this.inflight.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }
}
