/**
 * A short undo window after an action the master can reverse (drain → undrain): a toast with an
 * Undo button for a few seconds. Cancel has none: a cancelled task is terminal in the store.
 */
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './format.js';

interface Offer {
  id: number;
  message: string;
  undo: () => Promise<unknown>;
}

const UNDO_MS = 10_000;
let offer: Offer | null = null;
let nextId = 1;
const listeners = new Set<(o: Offer | null) => void>();
const publish = (o: Offer | null) => {
  offer = o;
  for (const l of listeners) l(o);
};

/** Shows `message` with an Undo button that runs `undo`, for 10 s (a newer offer replaces it). */
export function offerUndo(message: string, undo: () => Promise<unknown>): void {
  const mine = { id: nextId++, message, undo };
  publish(mine);
  setTimeout(() => offer?.id === mine.id && publish(null), UNDO_MS);
}

export function UndoToast() {
  const [current, setCurrent] = useState(offer);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    listeners.add(setCurrent);
    return () => void listeners.delete(setCurrent);
  }, []);
  if (!current) return error ? <p class="toast error" role="alert">{error}</p> : null;
  return (
    <div class="toast" role="status">
      <span>{current.message}</span>
      <button type="button" class="btn plain" onClick={() => {
        publish(null);
        setError(null);
        current.undo().catch((err: unknown) => setError(`Undo failed: ${errorText(err)}`));
      }}>Undo</button>
    </div>
  );
}
