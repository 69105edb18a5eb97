import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";

export const testNatsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** A subject prefix no other test uses, so test files can share one NATS server in parallel. */
export const uniquePrefix = (label = "t") => `${label}${randomBytes(6).toString("hex")}`;

export const connectNats = (name = "test"): Promise<NatsConnection> =>
  connect({ servers: testNatsUrl, name });

/** Deletes every stream and KV bucket a service made under `prefix`, so a test leaves none behind. */
export async function deleteStreamsOf(prefix: string): Promise<void> {
  const nc = await connectNats(`${prefix}-cleanup`);
  try {
    const jsm = await nc.jetstreamManager();
    for await (const name of jsm.streams.names())
      if (name.startsWith(`${prefix}-`) || name.startsWith(`KV_${prefix}-`))
        await jsm.streams.delete(name).catch(() => {});
  } finally {
    await nc.close();
  }
}
