/**
 * Lets timers and I/O run. PGlite answers queries without ever handing control back to the
 * event loop, so a loop of batches on it would hold off HTTP requests, timers and everything else
 * in the process until it ends; projections and rebuilds call this between batches.
 */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
