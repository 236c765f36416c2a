/** Shared pieces of the views: buttons that run an action and say how it went, a confirmation dialog, press-and-hold, empty/loading/error states. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './format.js';

type Variant = 'primary' | 'danger' | 'plain';

interface ActionProps {
  label: string;
  /** The accessible name when the visible label is not enough (e.g. "Drain worker-1"). */
  name?: string;
  run: () => Promise<unknown>;
  variant?: Variant;
  disabled?: boolean;
  onDone?: () => void;
}

/** A button that runs `run` once at a time and shows its failure next to it. */
export function ActionButton({ label, name, run, variant = 'plain', disabled, onDone }: ActionProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try {
      await run();
      onDone?.();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={`btn ${variant}`} aria-label={name} disabled={disabled || busy} aria-busy={busy} onClick={click}>
        {busy ? '…' : label}
      </button>
      {error && <span class="error-inline" role="alert">{error}</span>}
    </span>
  );
}

interface ConfirmProps {
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  variant?: Variant;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}

/** A modal confirmation (the native dialog: focus stays inside, Escape cancels). */
export function Confirm({ title, children, confirmLabel, variant = 'danger', onConfirm, onClose }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" onClose={onClose}>
      <h2 id="confirm-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      <div class="row end">
        <button type="button" class="btn plain" onClick={onClose}>Cancel</button>
        <ActionButton label={confirmLabel} variant={variant} run={onConfirm} onDone={onClose} />
      </div>
    </dialog>
  );
}

/** A control behind a confirmation: the button opens the dialog. */
export function Confirmed(props: Omit<ConfirmProps, 'onClose'> & { label: string; name?: string; disabled?: boolean; buttonVariant?: Variant }) {
  const [open, setOpen] = useState(false);
  const { label, name, disabled, buttonVariant, ...dialog } = props;
  return (
    <>
      <button type="button" class={`btn ${buttonVariant ?? 'plain'}`} aria-label={name} disabled={disabled} onClick={() => setOpen(true)}>{label}</button>
      {open && <Confirm {...dialog} onClose={() => setOpen(false)} />}
    </>
  );
}

const HOLD_MS = 1500;

/**
 * A deliberate confirmation for what stops the fleet: it fires only after being held down for
 * 1.5 s (pointer, or Space/Enter held on the keyboard); letting go earlier does nothing.
 */
export function HoldButton({ label, run, disabled, onDone }: { label: string; run: () => Promise<unknown>; disabled?: boolean; onDone?: () => void }) {
  const [holding, setHolding] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const start = () => {
    if (disabled || busy || timer.current) return;
    setHolding(true);
    setError(null);
    timer.current = setTimeout(async () => {
      timer.current = null;
      setHolding(false);
      setBusy(true);
      try {
        await run();
        onDone?.();
      } catch (err) {
        setError(errorText(err));
      } finally {
        setBusy(false);
      }
    }, HOLD_MS);
  };
  const cancel = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    setHolding(false);
  };
  return (
    <span class="action">
      <button
        type="button"
        class={`btn danger hold ${holding ? 'holding' : ''}`}
        disabled={disabled || busy}
        aria-busy={busy}
        aria-describedby="hold-hint"
        onPointerDown={start}
        onPointerUp={cancel}
        onPointerLeave={cancel}
        onPointerCancel={cancel}
        onKeyDown={(e) => (e.key === ' ' || e.key === 'Enter') && (e.preventDefault(), start())}
        onKeyUp={cancel}
        onContextMenu={(e) => e.preventDefault()}
      >
        <span class="hold-fill" aria-hidden="true" />
        <span class="hold-label">{busy ? 'Sending…' : holding ? 'Keep holding…' : label}</span>
      </button>
      <span id="hold-hint" class="hint">Press and hold for 1.5 seconds.</span>
      {error && <span class="error-inline" role="alert">{error}</span>}
    </span>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return <p class="loading" role="status">Loading {what}…</p>;
}

export function ErrorNote({ error, what }: { error: string; what: string }) {
  return (
    <p class="error" role="alert">
      Could not load {what}: {error}. It will be read again when the connection to the master is back; check that `bitacora up` is running.
    </p>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="section" aria-labelledby={id ? `${id}-h` : undefined}>
      <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
      {children}
    </section>
  );
}
