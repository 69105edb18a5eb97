/**
 * The database's NOTIFY channels: a hint to look again, never a delivery (listeners still poll).
 * The event store announces appends on `appendedChannel` (src/eventstore/postgres); a projection
 * announces at commit that the read model moved on, which read-your-writes waits for (src/queries).
 */
export const appendedChannel = "event_store_appended";
export const readModelAdvancedChannel = "read_model_advanced";
