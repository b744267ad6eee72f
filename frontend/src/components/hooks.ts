import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";

import { describeError } from "../api/problem";

export interface Resource<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/** Load data when the dependencies change; a newer load wins over an older, slower one. */
export function useResource<T>(load: () => Promise<T>, deps: DependencyList): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    loadRef.current().then(
      (value) => {
        if (!current) return;
        setData(value);
        setLoading(false);
      },
      (caught: unknown) => {
        if (!current) return;
        setError(describeError(caught));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data, error, loading, reload };
}

export interface Action {
  busy: boolean;
  error: string | null;
  setError(message: string | null): void;
  /** Runs `work`; returns true when it succeeded, and shows its error otherwise. */
  run(work: () => Promise<unknown>): Promise<boolean>;
}

/** State of one form submission or button press: busy while running, its error after. */
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
