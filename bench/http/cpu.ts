/**
 * CPU time of processes, from /proc/<pid>/stat, for the CPU a command costs in each process.
 * PostgreSQL works in a backend per connection, so a process counts with all its descendants,
 * and with the children it has reaped (a backend that ended mid-run left its time there).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

interface ProcStat {
  ppid: number;
  /** utime + stime (fields 14 and 15): this process's own, all its threads. */
  ownTicks: number;
  /** cutime + cstime (fields 16 and 17): its children that ended and were waited for. */
  reapedTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // it ended between the listing and the read
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), ownTicks: field(14) + field(15), reapedTicks: field(16) + field(17) };
}

/** Every process's stat, by pid: one pass over /proc, so all trees are read at the same moment. */
function readAllStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  return stats;
}

/** A named process whose CPU is counted, descendants included. */
export interface Counted {
  name: string;
  pid: number;
}

/** CPU milliseconds used so far by each counted process and its descendants. */
export function cpuSnapshot(counted: readonly Counted[]): Map<string, number> {
  const stats = readAllStats();
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const treeTicks = (pid: number): number => {
    const stat = stats.get(pid);
    if (!stat) throw new Error(`process ${pid} is gone: its CPU time cannot be counted`);
    return (
      stat.ownTicks +
      stat.reapedTicks +
      (children.get(pid) ?? []).reduce((sum, child) => sum + treeTicks(child), 0)
    );
  };
  return new Map(counted.map(({ name, pid }) => [name, (treeTicks(pid) * 1000) / ticksPerSecond]));
}

/** The CPU milliseconds each counted process used between two snapshots. */
export function cpuBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)]));
}

/** The pid of the process whose command line holds all of `parts` (and is not this one). */
export function findProcess(parts: readonly string[]): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (parts.every((part) => args.includes(part))) return Number(entry);
  }
  throw new Error(`no process with ${parts.join(" ")} in its command line`);
}

/** The parent of a process (e.g. the postmaster of a PostgreSQL backend). */
export function parentOf(pid: number): number {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return stat.ppid;
}
