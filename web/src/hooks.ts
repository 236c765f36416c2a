/** Small Preact hooks the views share: the live picture, the hash route, a ticking clock for "5 s ago". */
import { useEffect, useState } from 'preact/hooks';
import type { FleetPicture, LiveFleet } from './live.js';

export function usePicture(live: LiveFleet): FleetPicture {
  const [picture, setPicture] = useState(live.picture);
  useEffect(() => live.subscribe(setPicture), [live]);
  return picture;
}

/** `#/tasks/tsk_1` → ['tasks', 'tsk_1']; hash routes need no server-side routes. */
export function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Re-renders every `ms` so relative times stay true; it reads nothing from the master. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Runs `load` when `deps` change; `[value, error, loading]`. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [T | null, string | null, boolean] {
  const [state, setState] = useState<{ value: T | null; error: string | null; loading: boolean }>({ value: null, error: null, loading: true });
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => current && setState({ value, error: null, loading: false }),
      (err: unknown) => current && setState((s) => ({ value: s.value, error: err instanceof Error ? err.message : String(err), loading: false })),
    );
    return () => {
      current = false;
    };
  }, deps);
  return [state.value, state.error, state.loading];
}
