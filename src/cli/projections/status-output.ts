import type { ProjectionStatus } from "../../projections/projection-status.js";

/** `projections list`: one line per projection, then a line for each rebuild there is. */
export function formatList(statuses: readonly ProjectionStatus[]): string {
  const header = [
    "NAME",
    "STATE",
    "DEPLOYED",
    "STORED",
    "CHECKPOINT",
    "APPLIED",
    "LAG",
    "LAG S",
    "OWNER",
    "LOCK",
  ];
  const rows = statuses.map((status) => [
    status.name,
    status.state,
    String(status.version.deployed),
    status.version.stored === null ? "-" : String(status.version.stored),
    status.checkpoint ?? "-",
    String(status.eventsApplied),
    String(status.lag.events),
    seconds(status.lag.seconds),
    status.owner ?? "-",
    status.lock ? `held (pid ${status.lock.pid})` : "free",
  ]);
  const notes = statuses.flatMap((status) =>
    status.rebuild ? [`${status.name}: ${rebuildLine(status)}`] : [],
  );
  return [...table([header, ...rows]), ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** `projections status`: everything about each projection, a block each. */
export function formatStatus(statuses: readonly ProjectionStatus[]): string {
  return statuses
    .map((status) => {
      const { version, lag, lock } = status;
      const fields: [string, string][] = [
        ["state", status.state],
        [
          "version",
          `deployed ${version.deployed}, stored ${version.stored ?? "none (never ran)"}${
            version.stored !== null && version.stored !== version.deployed ? " — rebuild to deploy it" : ""
          }`,
        ],
        [
          "checkpoint",
          status.checkpoint === null
            ? "none (from the start of the log)"
            : `${status.checkpoint} (position ${status.position ?? "-"})`,
        ],
        ["applied", `${status.eventsApplied} events`],
        ["lag", `${lag.events} events, ${seconds(lag.seconds)} s`],
        ["owner", status.owner ?? "none"],
        ["lock", lock ? `held by database session ${lock.pid}${holderDetails(lock)}` : "not held"],
        ["updated", status.updatedAt?.toISOString() ?? "never"],
        ["tables", status.tables.length ? status.tables.join(", ") : "none"],
        ["rebuild", status.rebuild ? rebuildLine(status) : "none"],
      ];
      const width = Math.max(...fields.map(([label]) => label.length)) + 2;
      return [status.name, ...fields.map(([label, value]) => `  ${`${label}:`.padEnd(width)}${value}`)].join(
        "\n",
      );
    })
    .join("\n\n");
}

function rebuildLine({ name, rebuild }: ProjectionStatus): string {
  if (!rebuild) return "none";
  const done = `version ${rebuild.version} in ${rebuild.shadowSchema}, ${rebuild.eventsApplied} events applied, ${rebuild.lag.events} to go`;
  return rebuild.lock
    ? `rebuilding (database session ${rebuild.lock.pid}, ${rebuild.owner ?? "?"}): ${done}`
    : `interrupted: ${done}; \`basket projections rebuild ${name}\` resumes it`;
}

function holderDetails(lock: NonNullable<ProjectionStatus["lock"]>): string {
  const details = [
    lock.applicationName && `application ${lock.applicationName}`,
    lock.clientAddress && `from ${lock.clientAddress}`,
    lock.since && `since ${lock.since.toISOString()}`,
  ].filter(Boolean);
  return details.length ? ` (${details.join(", ")})` : "";
}

const seconds = (value: number) => (value === 0 ? "0" : value.toFixed(1));

function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}
