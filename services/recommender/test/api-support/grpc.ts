// Starts buildGrpcServer on 127.0.0.1 with a free port and connects the generated client.
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { buildGrpcServer, type RecommenderGrpcServer } from '../../src/api/grpc/server.js';
import {
  RecommenderClient,
  type DeleteContentRequest,
  type DeleteContentResponse,
  type EmbedRequest,
  type EmbedResponse,
  type GetInfoRequest,
  type GetInfoResponse,
  type RecommendRequest,
  type RecommendResponse,
} from '../../src/api/grpc/generated/curriculum/recommender/v1/recommender.js';
import { createMetrics, type ServiceMetrics } from '../../src/metrics.js';
import type { RecommenderService } from '../../src/types.js';
import { TEST_CONFIG } from './http.js';

export interface RunningGrpc {
  address: string;
  client: RecommenderClient;
  server: RecommenderGrpcServer;
  metrics: ServiceMetrics;
  close(): Promise<void>;
}

export async function startGrpc(recommender: RecommenderService, config: Partial<typeof TEST_CONFIG> = {}): Promise<RunningGrpc> {
  const metrics = createMetrics({ defaultMetrics: false });
  const server = buildGrpcServer({ config: { ...TEST_CONFIG, ...config }, recommender, metrics, logger: pino({ level: 'silent' }) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new RecommenderClient(address, grpc.credentials.createInsecure());
  return {
    address,
    client,
    server,
    metrics,
    async close() {
      client.close();
      server.forceShutdown();
    },
  };
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;
const promised = <Req, Res>(call: (req: Req, cb: Callback<Res>) => unknown) => (req: Req) =>
  new Promise<Res>((resolve, reject) => call(req, (err, res) => (err ? reject(err) : resolve(res))));

/** The unary RPCs of the generated client as promises (typed per method: overloads defeat inference). */
export function unaryCalls(client: RecommenderClient) {
  return {
    recommend: promised<RecommendRequest, RecommendResponse>((r, cb) => client.recommend(r, cb)),
    deleteContent: promised<DeleteContentRequest, DeleteContentResponse>((r, cb) => client.deleteContent(r, cb)),
    embed: promised<EmbedRequest, EmbedResponse>((r, cb) => client.embed(r, cb)),
    getInfo: promised<GetInfoRequest, GetInfoResponse>((r, cb) => client.getInfo(r, cb)),
  };
}
