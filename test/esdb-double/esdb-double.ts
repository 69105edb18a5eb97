/**
 * A protocol-level test double of EventStoreDB: a gRPC server on a free port of 127.0.0.1,
 * speaking the service definitions `@eventstore/db-client` ships, so the real client (and our
 * adapter on it) runs unchanged against it. Only for tests — EventStoreDB cannot be installed
 * where CI runs; with ESDB_URL set, the same suites run against a real server instead (docs/testing.md).
 *
 * It serves Streams.Read and Streams.Append (streams-service.ts) and answers everything else —
 * ServerFeatures included, so the client falls back from BatchAppend to Append — UNIMPLEMENTED.
 * `restart()` stops the server as a crash would (every call fails) and starts it again on the
 * same port with the same log.
 */

import serverFeaturesGrpc from "@eventstore/db-client/generated/serverfeatures_grpc_pb.js";
import streamsGrpc from "@eventstore/db-client/generated/streams_grpc_pb.js";
import { Server, ServerCredentials, type sendUnaryData, status } from "@grpc/grpc-js";
import { MemoryLog, type MemoryLogOptions, type ProposedEvent } from "./memory-log.js";
import { streamsService } from "./streams-service.js";

export interface EsdbDouble {
  /**
   * A connection string for the client: `esdb://127.0.0.1:<port>?tls=false`, with the client's
   * deadline for a call stretched from 10 s to 60 s — the double shares the tests' event loop,
   * and on a starved machine hundreds of concurrent calls can take longer than a server would.
   */
  url: string;
  log: MemoryLog;
  /** A stream standing at a revision already, holding only these last events. */
  seedStream(stream: string, lastRevision: bigint, events: ProposedEvent[]): void;
  /** Drops every connection and call, then serves again on the same port, keeping the log. */
  restart(pauseMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startEsdbDouble(options: MemoryLogOptions = {}): Promise<EsdbDouble> {
  const log = new MemoryLog(options);
  let server = await serve(log, 0);
  const port = server.port;
  return {
    url: `esdb://127.0.0.1:${port}?tls=false&defaultDeadline=60000`,
    log,
    seedStream: (stream, lastRevision, events) => log.seedStream(stream, lastRevision, events),
    async restart(pauseMs = 200) {
      server.server.forceShutdown();
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      server = await serve(log, port);
    },
    async stop() {
      server.server.forceShutdown();
    },
  };
}

async function serve(log: MemoryLog, port: number): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(streamsGrpc.StreamsService, streamsService(log));
  server.addService(serverFeaturesGrpc.ServerFeaturesService, {
    getSupportedMethods(_call: unknown, callback: sendUnaryData<never>) {
      callback({
        code: status.UNIMPLEMENTED,
        details: "the EventStoreDB test double has no server features",
      });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, actual) =>
      error ? reject(error) : resolve(actual),
    ),
  );
  return { server, port: bound };
}
