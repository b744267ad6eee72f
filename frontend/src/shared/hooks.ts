import { useCallback, useEffect, useState } from "react";

import { describeError } from "../api/problem";

export interface Action {
  busy: boolean;
  error: string | null;
  setError: (message: string | null) => void;
  /** Runs `work`; returns true when it succeeded, and shows its error otherwise. */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
}

/**
 * State of one form submission or button press: busy while running, its error after. The
 * work is usually a mutation's `mutateAsync`; one Action can serve several mutations (the
 * buttons of a table) and local checks (`setError`) share the same message slot.
 */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (caught) {
      setError(describeError(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Tenantry`;
  }, [title]);
}

/** A query's error as the sentence the page shows, or null. */
export function errorText(error: unknown): string | null {
  return error ? describeError(error) : null;
}
