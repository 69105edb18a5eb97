import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";

export const testNatsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** A subject prefix no other test uses, so test files can share one NATS server in parallel. */
export const uniquePrefix = (label = "t") => `${label}${randomBytes(6).toString("hex")}`;

export const connectNats = (name = "test"): Promise<NatsConnection> =>
  connect({ servers: testNatsUrl, name });
