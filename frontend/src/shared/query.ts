import { notifyManager, QueryClient } from "@tanstack/react-query";

import { ApiError } from "../api/problem";

/**
 * Server state lives in TanStack Query. Failures reach it as `ApiError` (see `unwrap` in
 * api/client.ts); a 401 has already been through the session's refresh-and-retry-once in
 * `auth.fetch`, so the query layer never deals with tokens.
 */

/** Ask again after a network failure or a 5xx, once; a 4xx problem would only repeat itself. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status < 500) return false;
  return failureCount < 1;
}

export function createQueryClient(): QueryClient {
  // TanStack Query hands results to React on a `setTimeout(0)` by default. A tab whose timers
  // are frozen (a sleeping laptop, or Playwright's paused clock in tests/e2e) would then
  // never show an answer it has received; a microtask runs regardless of timers.
  notifyManager.setScheduler(queueMicrotask);
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        // Pages load what they show when they open, as before; a refetch on focus would
        // also move the ground under an open editor (see features/products).
        refetchOnWindowFocus: false,
      },
      mutations: { retry: false },
    },
  });
}
