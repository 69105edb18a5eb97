import type { Role } from "../../../src/config/roles.js";
import { listeningUrl, type ServiceProcess } from "../processes.js";
import type { WorkerFleet } from "../worker-fleet.js";

/** One process of the service as deployed, with where it listens. */
export interface Service {
  role: Role;
  process: ServiceProcess;
  /** Where it listens: the API, or /metrics and /health on the other roles. */
  url: string;
}

/** How long one process may take to start on a busy machine. */
export const startTimeoutMs = 120_000;

/** The worker processes of a fleet, with where each listens. */
export function workerServices(fleet: WorkerFleet): Promise<Service[]> {
  return Promise.all(
    fleet.processes.map(async (process) => ({
      role: "worker" as const,
      process,
      url: await listeningUrl(process, startTimeoutMs),
    })),
  );
}

/** Stops a process gracefully, as deployed; one that does not end in 15 s is killed. */
export async function stopService({ process }: Service): Promise<void> {
  if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill("SIGTERM");
  const timer = setTimeout(() => process.child.kill("SIGKILL"), 15_000);
  await process.exited;
  clearTimeout(timer);
}

/** A 500 answered or a failure nobody handled; unavailability is only a warning. */
export const errorLines = ({ process }: Service) =>
  process.lines.filter((line) => Number(line.level) >= 50 || /Unhandled|uncaught/i.test(String(line.msg)));

/** The last log lines of a process, request lines left out, for a failed test's output. */
export function logTail({ role, process }: Service, lines: number): string {
  const tail = process.lines
    .filter((line) => line.msg !== "incoming request" && line.msg !== "request completed")
    .slice(-lines)
    .map((line) => JSON.stringify(line).slice(0, 500));
  return `--- ${role} (pid ${process.child.pid}, exit ${process.child.exitCode ?? process.child.signalCode ?? "-"})\n${tail.join("\n")}`;
}
