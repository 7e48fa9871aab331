// Worker thread that owns one ONNX Runtime session. onnxruntime-node runs inference synchronously on
// the calling thread (its run() only defers the call with setImmediate), so running it here keeps the
// service's event loop free while a batch is computed. Protocol: see session.ts.
// Plain JavaScript on purpose: worker threads do not inherit the tsx loader, so this file must run as is.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

/** @type {{ modelPath: string, executionProvider: 'cpu' | 'cuda', intraOpThreads?: number, interOpThreads?: number, spinning?: boolean }} */
const init = workerData;
const port = parentPort;

async function createSession() {
  const base = {
    graphOptimizationLevel: 'all',
    // No busy-waiting between ops by default: spinning pool threads would steal the few cores the
    // event loop (HTTP, gRPC, tokenisation) needs and halve throughput on a shared CPU; with dedicated
    // cores (ORT_SPINNING=on) it buys ~25 % at batch 1 (docs/benchmarks.md).
    extra: { session: { intra_op: { allow_spinning: init.spinning ? '1' : '0' }, inter_op: { allow_spinning: init.spinning ? '1' : '0' } } },
    ...(init.intraOpThreads ? { intraOpNumThreads: init.intraOpThreads } : {}),
    ...(init.interOpThreads ? { interOpNumThreads: init.interOpThreads } : {}),
  };
  let warning;
  if (init.executionProvider === 'cuda') {
    try {
      // ORT's own error log for a missing CUDA library is replaced by the service's warning (logSeverityLevel 4 = fatal only).
      return { session: await ort.InferenceSession.create(init.modelPath, { ...base, executionProviders: ['cuda'], logSeverityLevel: 4 }), provider: 'cuda' };
    } catch (err) {
      warning = err.message;
    }
  }
  return { session: await ort.InferenceSession.create(init.modelPath, { ...base, executionProviders: ['cpu'] }), provider: 'cpu', warning };
}

const ready = createSession();
ready.then(
  ({ session, provider, warning }) => {
    const outputMeta = session.outputMetadata.map((m) => ({ name: m.name, lastDim: m.isTensor ? m.shape[m.shape.length - 1] : undefined }));
    port.postMessage({ type: 'ready', provider, warning, inputNames: session.inputNames, outputNames: session.outputNames, outputMeta });
  },
  (err) => port.postMessage({ type: 'init-error', message: err.message }),
);

port.on('message', async (msg) => {
  let session;
  try {
    ({ session } = await ready);
  } catch {
    return; // init-error already reported
  }
  if (msg.type === 'close') {
    await session.release();
    port.close();
    return;
  }
  try {
    const dims = [msg.n, msg.length];
    const result = await session.run({
      input_ids: new ort.Tensor('int64', msg.inputIds, dims),
      attention_mask: new ort.Tensor('int64', msg.mask, dims),
    });
    const data = result[msg.output].data.slice();
    port.postMessage({ type: 'result', id: msg.id, data }, [data.buffer]);
  } catch (err) {
    port.postMessage({ type: 'result', id: msg.id, error: err.message });
  }
});
