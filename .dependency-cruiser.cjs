/**
 * Which folders of src/ may import which: the layering docs/architecture.md draws, checked by
 * `npm run lint`. From the bottom up:
 *
 *   aggregates (the pure domain)          ← events (stored ⇄ domain events)
 *   db ← eventstore (the port and its adapters)
 *   commands (handling) · projections · queries · live      — the application
 *   nats · http · cli                     — the ways in and out
 *   serve (wiring per role) · config (read once, at the top)
 *
 * access, health and metrics are small leaves anyone above them may use; src/errors.ts,
 * src/logging.ts and src/version.ts are for everyone.
 */
const folder = (name) => `^src/${name}/`;
const any = (...names) => `^src/(${names.join("|")})/`;

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "A cycle means two modules cannot be read (or changed) one without the other.",
      from: {},
      to: { circular: true },
    },
    {
      name: "domain-is-pure",
      severity: "error",
      comment: "src/aggregates is decide/evolve: no I/O, no other folder, no package.",
      from: { path: folder("aggregates") },
      to: { pathNot: [folder("aggregates")] },
    },
    {
      name: "storage-knows-no-domain",
      severity: "error",
      comment: "The event store and the database hold events and rows; what they mean is above them.",
      from: { path: any("db", "eventstore") },
      to: { path: any("aggregates", "events", "commands", "projections", "queries", "live") },
    },
    {
      name: "db-below-eventstore",
      severity: "error",
      from: { path: folder("db") },
      to: { path: folder("eventstore") },
    },
    {
      name: "write-side-apart-from-read-side",
      severity: "error",
      comment: "Commands decide on the event stream; the read model is never a source of truth for them.",
      from: { path: folder("commands") },
      to: { path: any("projections", "queries") },
    },
    {
      name: "read-side-apart-from-write-side",
      severity: "error",
      from: { path: any("projections", "queries", "live") },
      to: { path: folder("commands") },
    },
    {
      name: "application-knows-no-transport",
      severity: "error",
      comment: "Handling, projections and queries work the same whatever carries them: NATS, HTTP, the CLI.",
      from: {
        path: any(
          "aggregates",
          "events",
          "db",
          "eventstore",
          "commands",
          "projections",
          "queries",
          "live",
          "access",
          "health",
          "metrics",
        ),
      },
      to: { path: any("nats", "http", "cli", "serve", "config") },
    },
    {
      name: "transports-apart",
      severity: "error",
      comment: "NATS code lives in src/nats alone; HTTP routes know no NATS; neither knows the wiring.",
      from: { path: any("nats", "http") },
      to: { path: any("cli", "serve", "config") },
    },
    {
      name: "http-knows-no-nats",
      severity: "error",
      from: { path: folder("http") },
      to: { path: folder("nats") },
    },
    {
      name: "nats-knows-no-http",
      severity: "error",
      from: { path: folder("nats") },
      to: { path: folder("http") },
    },
    {
      name: "nothing-below-reads-configuration",
      severity: "error",
      comment: "The configuration is read once at the top of a process and handed down as plain values.",
      from: { pathNot: any("config", "serve", "cli") },
      to: { path: folder("config") },
    },
    {
      name: "wiring-is-the-top",
      severity: "error",
      from: { pathNot: any("serve", "cli") },
      to: { path: any("serve", "cli") },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // TypeScript 7 has no JavaScript API to parse with: swc parses instead.
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Type-only imports count: a type from above is still a dependency on above.
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
