import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

// ---- routing: the console's views live in the URL's hash, so the server serves one page and the
// API's own paths (/tenants, /executions/...) stay JSON.

export interface ConsoleLocation {
  /** The path segments after `#/`, decoded. */
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

function currentLocation(): ConsoleLocation {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?', 2);
  return {
    parts: path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p)),
    query: new URLSearchParams(search),
  };
}

export function useLocation(): ConsoleLocation {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const changed = () => setLocation(currentLocation());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return location;
}

/** A console link: `href('executions', name)` is `#/executions/<name, encoded>`. */
export function href(...parts: string[]): string {
  return `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}

// ---- data: load once, then again every so often while the view is open.

export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  /** Loads again now (after an action). */
  readonly reload: () => void;
}

/**
 * Loads `load()` when `key` changes, then again after `every(data)` milliseconds for as long as it
 * gives a number (undefined: stop polling, say once an execution has ended).
 */
export function usePoll<T>(
  key: string,
  load: () => Promise<T>,
  every: (data: T | undefined) => number | undefined,
): Polled<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: Error }>({ key });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const everyRef = useRef(every);
  everyRef.current = every;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let data: T | undefined;
      try {
        data = await loadRef.current();
        if (live) setState({ key, data });
      } catch (error) {
        if (live)
          setState((s) => ({ key, ...(s.key === key ? { data: s.data } : {}), error: error as Error }));
      }
      const wait = everyRef.current(data);
      if (live && wait !== undefined) timer = setTimeout(run, wait);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return state.key === key
    ? { data: state.data, error: state.error, reload }
    : { data: undefined, error: undefined, reload };
}

// ---- formatting

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function between(
  start: string | null | undefined,
  end: string | null | undefined,
): number | undefined {
  if (!start) return undefined;
  const to = end ? Date.parse(end) : Date.now();
  return to - Date.parse(start);
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---- pieces

/** A status as a word in a coloured pill: the word carries the meaning, the colour repeats it. */
export function Badge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span class={`badge badge-${status.toLowerCase().replace(/[^a-z]+/g, '-')}`} data-testid={testId}>
      {status.toLowerCase().replaceAll('_', ' ')}
    </span>
  );
}

export function ErrorBanner({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <div class="banner banner-error" role="alert">
      {error instanceof ApiError ? error.message : `Could not reach the API: ${error.message}`}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/**
 * A button that calls the API: disabled while its call is in flight, its error shown beside it.
 * `confirm` asks first (for what cannot be taken back).
 */
export function ActionButton({
  label,
  busyLabel,
  run,
  confirm,
  kind = 'secondary',
  testId,
}: {
  label: string;
  busyLabel: string;
  run: () => Promise<unknown>;
  confirm?: string;
  kind?: 'primary' | 'secondary' | 'danger';
  testId?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const click = async () => {
    if (confirm && !window.confirm(confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      await run();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={`button button-${kind}`}
        disabled={busy}
        onClick={click}
        data-testid={testId}
      >
        {busy ? busyLabel : label}
      </button>
      {error ? (
        <span class="action-error" role="alert">
          {error.message}
        </span>
      ) : null}
    </span>
  );
}

/** A definition list of label/value pairs; a `wide` one takes a row of its own. */
export function Facts({ items }: { items: readonly (readonly [string, ComponentChildren, 'wide'?])[] }) {
  return (
    <dl class="facts">
      {items.map(([label, value, wide]) => (
        <div key={label} class={wide ? 'wide' : undefined}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
