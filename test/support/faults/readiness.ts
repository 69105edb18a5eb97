import type { Service } from "./service.js";

/** Resolves with how long it took until every service's /health/ready answered `status`. */
export async function readinessBecomes(
  services: readonly Service[],
  status: number,
  timeoutMs = 30_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const states = await Promise.all(services.map(readiness));
    if (states.every((state) => state === status)) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `readiness not ${status} in ${timeoutMs} ms: ${services.map((s, i) => `${s.role} ${states[i]}`).join(", ")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** GET /health/ready's status, or "down" when the process does not answer. */
export async function readiness(service: Service): Promise<number | "down"> {
  try {
    const response = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return "down";
  }
}
