/**
 * A protocol-level test double of EventStoreDB: a gRPC server on a free port of 127.0.0.1,
 * speaking the service definitions `@eventstore/db-client` ships, so the real client (and our
 * adapter on it) runs unchanged against it. Only for tests — EventStoreDB cannot be installed
 * where CI runs; with ESDB_URL set, the same suites run against a real server instead
 * (docs/eventstoredb.md).
 *
 * It plays one server version (server-versions.ts: 24.10 by default, what compose.yaml runs),
 * serves Streams.Read, Append, BatchAppend, Delete and Tombstone (streams-service.ts) and
 * ServerFeatures, and answers everything else UNIMPLEMENTED. What it does as the server does is
 * checked against a real one by esdb-double.test.ts. Its controls do what a test cannot ask of a
 * real server: a restart on cue (keeping the log, or losing it as an in-memory database does),
 * slow writes, a skewed clock, a stream seeded at a high revision.
 */

import serverFeaturesGrpc from "@eventstore/db-client/generated/serverfeatures_grpc_pb.js";
import serverFeaturesPb from "@eventstore/db-client/generated/serverfeatures_pb.js";
import streamsGrpc from "@eventstore/db-client/generated/streams_grpc_pb.js";
import { Server, ServerCredentials, type sendUnaryData, status } from "@grpc/grpc-js";
import { MemoryLog, type MemoryLogOptions, type ProposedEvent } from "./memory-log.js";
import { defaultSettings, type ServerSettings } from "./server-settings.js";
import { type ServerVersion, serverVersions } from "./server-versions.js";
import { streamsService } from "./streams-service.js";

/**
 * How the client appends: "batch" when ServerFeatures advertises BatchAppend (every server from
 * 21.10 does), "legacy" Append when ServerFeatures answers UNIMPLEMENTED (as servers before it).
 */
export type AppendMode = "batch" | "legacy";

export interface EsdbDoubleOptions extends MemoryLogOptions {
  version?: ServerVersion;
  appendMode?: AppendMode;
  maxAppendSize?: number;
  writeTimeoutMs?: number;
}

export interface EsdbDouble {
  /**
   * A connection string for the client: `esdb://127.0.0.1:<port>?tls=false`, with the client's
   * deadline for a call stretched from 10 s to 60 s — the double shares the tests' event loop,
   * and on a starved machine hundreds of concurrent calls can take longer than a server would.
   */
  url: string;
  log: MemoryLog;
  version: ServerVersion;
  appendMode: AppendMode;
  /** What the double does from now on: change `commitDelayMs`, `clockSkewMs`… as a test needs. */
  settings: ServerSettings;
  /** A stream standing at a revision already, holding only these last events. */
  seedStream(stream: string, lastRevision: bigint, events: ProposedEvent[]): void;
  /**
   * Drops every connection and call, then serves again on the same port: with the same log, or
   * with none (`loseLog`), as a server on an in-memory database (EVENTSTORE_MEM_DB) comes back.
   */
  restart(options?: { pauseMs?: number; loseLog?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startEsdbDouble(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
  const { version = "24.10", appendMode = "batch", firstPosition } = options;
  const log = new MemoryLog(firstPosition === undefined ? {} : { firstPosition });
  const settings: ServerSettings = {
    ...defaultSettings,
    ...(options.maxAppendSize === undefined ? {} : { maxAppendSize: options.maxAppendSize }),
    ...(options.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: options.writeTimeoutMs }),
    behaviour: serverVersions[version],
  };
  const serveOn = (port: number) => serve(log, settings, appendMode, port);
  let server = await serveOn(0);
  const port = server.port;
  return {
    url: `esdb://127.0.0.1:${port}?tls=false&defaultDeadline=60000`,
    log,
    version,
    appendMode,
    settings,
    seedStream: (stream, lastRevision, events) => log.seedStream(stream, lastRevision, events),
    async restart({ pauseMs = 200, loseLog = false } = {}) {
      server.server.forceShutdown();
      if (loseLog) log.clear();
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      server = await serveOn(port);
    },
    async stop() {
      server.server.forceShutdown();
    },
  };
}

async function serve(
  log: MemoryLog,
  settings: ServerSettings,
  appendMode: AppendMode,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(streamsGrpc.StreamsService, streamsService(log, settings));
  server.addService(serverFeaturesGrpc.ServerFeaturesService, {
    getSupportedMethods(_call: unknown, callback: sendUnaryData<InstanceType<typeof SupportedMethods>>) {
      if (appendMode === "legacy")
        return callback({ code: status.UNIMPLEMENTED, details: "Method is unimplemented." });
      callback(null, supportedMethods(settings.behaviour.fullVersion));
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, actual) =>
      error ? reject(error) : resolve(actual),
    ),
  );
  return { server, port: bound };
}

const { SupportedMethods, SupportedMethod } = serverFeaturesPb;

/** What ServerFeatures.cs lists (lowercased service and method names), for the calls the double serves. */
function supportedMethods(version: string) {
  const streams = "event_store.client.streams.streams";
  const method = (name: string, features: string[] = []) =>
    new SupportedMethod().setServiceName(streams).setMethodName(name).setFeaturesList(features);
  return new SupportedMethods()
    .setEventStoreServerVersion(version)
    .setMethodsList([
      method("read", ["position", "events"]),
      method("append"),
      method("batchappend", ["deadline_duration"]),
      method("delete"),
      method("tombstone"),
    ]);
}
