import type { FastifyReply, FastifyRequest } from "fastify";
import { v7 as uuidv7 } from "uuid";
import type { BasketCommand } from "../aggregates/basket/index.js";
import type { AsyncCommands } from "../commands/async/async-commands.js";
import type { CommandEnvelope } from "../commands/command.js";
import type { CommandBus } from "../commands/command-bus.js";
import type { IdempotencyClaim, IdempotencyClaims } from "../commands/idempotency-claims.js";
import { replyWithOutcome } from "./command-reply.js";
import { type IdempotencyKeys, requestFingerprint } from "./idempotency.js";
import { sendProblem } from "./problem.js";
import { commandStatusBody } from "./routes/command-status.js";

export interface CommandSenderOptions {
  bus: CommandBus;
  keys: IdempotencyKeys;
  claims: IdempotencyClaims;
  /** Commands sent with `Prefer: respond-async` are queued here; without it the preference is ignored. */
  asyncCommands?: AsyncCommands | undefined;
}

export type SendCommand = (
  request: FastifyRequest,
  reply: FastifyReply,
  basketId: string,
  command: BasketCommand,
) => Promise<FastifyReply>;

/** The headers every command route takes (checked by the routes' schemas). */
interface CommandHeaders {
  "idempotency-key"?: string;
  "if-match"?: string;
  prefer?: string;
}

/**
 * Sends a command to its basket's worker and answers with its outcome — or, asked to (Prefer:
 * respond-async), queues it and answers 202. A create answers the new basket's token either way.
 *
 * With an Idempotency-Key the command is the same on every retry: the same command id (from the
 * key's claim), the same hashed key and request fingerprint, which the worker records and
 * recognises in the basket's events. The key itself is hashed at once and never goes further:
 * not into a log line, a header, a URL, an event or a message.
 */
export function commandSender({ bus, keys, claims, asyncCommands }: CommandSenderOptions): SendCommand {
  return async (request, reply, basketId, command) => {
    const headers = request.headers as CommandHeaders;
    const ifMatch = headers["if-match"]?.replaceAll('"', "");
    const creates = command.type === "CreateBasket";
    const key = headers["idempotency-key"];
    const idempotency =
      key === undefined
        ? undefined
        : {
            key: keys.hash(key),
            fingerprint: requestFingerprint({
              method: request.method,
              route: request.routeOptions.url ?? request.url,
              // A create's basket is the key's: its body is the request. (The basket is a param.)
              params: creates ? {} : request.params,
              body: request.body,
              ifMatch,
            }),
          };
    let claim: IdempotencyClaim | undefined;
    if (idempotency) {
      const proposed = {
        fingerprint: idempotency.fingerprint,
        commandId: uuidv7(),
        basketId,
        state: "running" as const,
        at: Date.now(),
      };
      // Unreachable (NATS away), the claim fails the request as unavailable (503, nothing
      // changed): the command could not reach a worker either.
      const claimed = await claims.claim(idempotency.key, proposed);
      if (claimed.claim.fingerprint !== idempotency.fingerprint)
        return sendProblem(
          reply,
          "idempotency_key_reused",
          "This Idempotency-Key was used for another request (another route, basket or body): use a new key.",
        );
      if (!claimed.mine) {
        if (claimed.claim.state === "running") {
          reply.header("retry-after", "1");
          return sendProblem(
            reply,
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being answered; ask again shortly.",
          );
        }
        // Done before: this retry goes on as the same command, and is answered as it was.
        claim = { ...claimed.claim, state: "running", at: Date.now() };
      } else claim = claimed.claim;
    }
    const commandId = claim?.commandId ?? uuidv7();
    // Every line logged about this request, "request completed" included, names the command.
    const log = request.log.child({ commandId, basketId });
    request.log = log;
    reply.log = log;
    const envelope: CommandEnvelope = {
      commandId,
      basketId,
      command,
      idempotency,
      expectedRevision: ifMatch === undefined ? undefined : BigInt(ifMatch),
      correlationId: request.id,
    };
    try {
      if (asyncCommands) reply.header("vary", "Prefer");
      // A browser's page asks for the token as the HttpOnly cookie only: a script on it never sees it.
      const grant = () => {
        const token = reply.grantBasket(basketId);
        if (!prefersCookieOnly(headers.prefer)) return { token };
        reply.header("preference-applied", "token=cookie");
        return {};
      };
      if (asyncCommands && prefersAsync(headers.prefer))
        return await queue(reply, asyncCommands, envelope, creates ? grant : undefined);
      const outcome = await bus.send(envelope);
      if (!outcome.ok || !creates) return replyWithOutcome(reply, outcome);
      reply.header("location", `/baskets/${basketId}`);
      return replyWithOutcome(reply, outcome, grant());
    } finally {
      if (idempotency && claim)
        await claims
          .done(idempotency.key, claim)
          .catch((error: unknown) => log.warn({ err: error }, "could not mark the idempotency key answered"));
    }
  };
}

/** RFC 7240: `Prefer: respond-async` among the preferences, in any case, with or without parameters. */
export const prefersAsync = (prefer: string | undefined) =>
  prefer !== undefined && /(^|,)\s*respond-async\s*(?=[,;=]|$)/i.test(prefer);

/** `Prefer: token=cookie`: the basket's token in the cookie only, not in the body. */
export const prefersCookieOnly = (prefer: string | undefined) =>
  prefer !== undefined && /(^|,)\s*token\s*=\s*"?cookie"?\s*(?=[,;]|$)/i.test(prefer);

async function queue(
  reply: FastifyReply,
  asyncCommands: AsyncCommands,
  envelope: CommandEnvelope,
  grant: (() => { token?: string }) | undefined,
): Promise<FastifyReply> {
  let status: Awaited<ReturnType<AsyncCommands["submit"]>>;
  try {
    status = await asyncCommands.submit(envelope);
  } catch (error) {
    reply.log.warn({ err: error }, "could not queue a command");
    reply.header("retry-after", "1");
    return sendProblem(reply, "queue_unavailable", "The command could not be queued; nothing was accepted.");
  }
  const body = commandStatusBody(status);
  return reply
    .code(202)
    .header("location", `/commands/${envelope.commandId}`)
    .header("preference-applied", "respond-async")
    .send(grant ? { ...body, ...grant() } : body);
}
