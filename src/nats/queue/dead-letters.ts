import type { NatsConnection } from "nats";
import type { DeadLetter } from "../../commands/async/dead-letter.js";
import type { CommandEnvelope } from "../../commands/command.js";
import { deadLetterStream } from "../names.js";
import { decodeCommand, InvalidCommandMessage } from "../wire.js";

/** JetStream's "no message found" for a sequence that was deleted. */
const noMessageFound = 10037;

/** The dead letters of a deployment, oldest first, at most `limit` of them. */
export async function listDeadLetters(
  nc: NatsConnection,
  prefix: string,
  limit: number,
): Promise<DeadLetter[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(deadLetterStream(prefix));
  const letters: DeadLetter[] = [];
  for (
    let seq = state.first_seq;
    seq <= state.last_seq && letters.length < limit && state.messages > 0;
    seq++
  ) {
    let message: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
    try {
      message = await jsm.streams.getMessage(deadLetterStream(prefix), { seq });
    } catch (error) {
      if ((error as { api_error?: { err_code?: number } }).api_error?.err_code === noMessageFound) continue;
      throw error;
    }
    const command = readable(message.data);
    letters.push({
      seq,
      commandId: command?.commandId ?? "?",
      basketId: command?.basketId ?? "?",
      type: command?.command.type ?? "unreadable",
      reason: message.header.get("Basket-Dead-Letter-Reason"),
      deliveries: Number(message.header.get("Basket-Deliveries")),
      at: message.time,
    });
  }
  return letters;
}

/** A dead letter may be bytes that were never a command: listed all the same. */
function readable(data: Uint8Array): CommandEnvelope | undefined {
  try {
    return decodeCommand(data);
  } catch (error) {
    if (error instanceof InvalidCommandMessage) return undefined;
    throw error;
  }
}
