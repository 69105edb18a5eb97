// A fault cluster for test/faults: the service's processes on servers of the test's own.
export { FaultCluster, type FaultClusterOptions } from "./fault-cluster.js";
export type { ReadModelFigures, StoreFigures } from "./figures.js";
export type { ScenarioLoad } from "./load.js";
export { type FaultNats, natsClusterOf, type StartNats } from "./nats.js";
export { faultClusterPerTest } from "./per-test.js";
export { readiness, readinessBecomes } from "./readiness.js";
export type { Service } from "./service.js";
export type { RecoveryFigures, VerifiedFigures, VerifyOptions } from "./verify.js";
