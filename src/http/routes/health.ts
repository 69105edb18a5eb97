import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import type { Readiness } from "../../health/readiness.js";
import { Problem, sendProblem } from "../problem.js";

export interface HealthRoutesOptions {
  readiness: Readiness;
}

const Check = Type.Object({
  status: Type.Union([Type.Literal("up"), Type.Literal("down")]),
  detail: Type.Optional(Type.String()),
  ms: Type.Integer({ description: "how long the look took" }),
});
const Checks = Type.Record(Type.String(), Check, {
  description: "each dependency of this role: database, nats, and for a worker its subscriptions",
});
const tags = ["health"];
// Probes come every few seconds from every load balancer: not worth a log line each.
const logLevel = "warn";
// Open: load balancers and orchestrators carry no credential, and nothing here is a basket's.
// Never rate-limited nor shed (limits: false): a probe of a busy process must still be answered,
// or the load balancer takes it out (it probes from one address) and the orchestrator restarts
// it; both answers are cheap (readiness is cached).
const config = { access: "public", limits: false } as const;

/** For load balancers and orchestrators: is the process up, and can it do its work now. */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { readiness }) => {
  const routes = app.withTypeProvider<TypeBoxTypeProvider>();

  routes.get(
    "/health/live",
    {
      logLevel,
      config,
      schema: {
        tags,
        summary: "Liveness: the process is up and answering (restart it when this fails)",
        response: { 200: Type.Object({ status: Type.Literal("live") }) },
      },
    },
    async () => ({ status: "live" as const }),
  );

  routes.get(
    "/health/ready",
    {
      logLevel,
      config,
      schema: {
        tags,
        summary: "Readiness: every dependency this role needs is reachable (send it work when this passes)",
        description:
          "Checks are answered from a cache of at most a second and each within 500 ms, so a dead dependency fails this fast.",
        response: {
          200: Type.Object({ status: Type.Literal("ready"), checks: Checks }),
          503: Type.Intersect([Problem, Type.Object({ checks: Checks })]),
        },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = await readiness.check();
      if (ready) return { status: "ready" as const, checks };
      const down = Object.entries(checks)
        .filter(([, check]) => check.status === "down")
        .map(([name, check]) => `${name}: ${check.detail}`);
      return sendProblem(reply, "not_ready", `Not ready: ${down.join("; ")}.`, { checks });
    },
  );
};
