import { randomUUID } from "node:crypto";
import { EsdbEventStore, type EsdbEventStoreOptions } from "../../src/eventstore/esdb/esdb-event-store.js";
import { type EsdbDouble, type EsdbDoubleOptions, startEsdbDouble } from "../esdb-double/esdb-double.js";

/**
 * A real EventStoreDB to test against (docs/eventstoredb.md), e.g. `esdb://localhost:2113?tls=false`.
 * Without it, each test file starts a test double of its own.
 */
export const realEsdbUrl = process.env.ESDB_URL || undefined;

export interface TestEsdb {
  url: string;
  /** The double, when the tests run on one: undefined against a real server. */
  double: EsdbDouble | undefined;
  /** This test file's streams are `<namespace><stream>`, so files sharing a real server never meet. */
  namespace: string;
  openStore(options?: Omit<EsdbEventStoreOptions, "namespace">): EsdbEventStore;
  stop(): Promise<void>;
}

/** EventStoreDB for one test file: the real one of ESDB_URL, or a double on a free port (with these options). */
export async function startTestEsdb(options: EsdbDoubleOptions = {}): Promise<TestEsdb> {
  const double = realEsdbUrl ? undefined : await startEsdbDouble(options);
  const url = realEsdbUrl ?? (double as EsdbDouble).url;
  const namespace = `t${randomUUID().slice(0, 8)}.`;
  return {
    url,
    double,
    namespace,
    openStore: (options = {}) => EsdbEventStore.connect(url, { ...options, namespace }),
    stop: async () => double?.stop(),
  };
}
