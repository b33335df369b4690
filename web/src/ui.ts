/** Small DOM helpers shared by the panels. */

/** The element with this id (it must exist in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** Creates an element with attributes (`text` sets its text) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attributes: Record<string, string | number | boolean | undefined> = {}, ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children);
  return element;
}

let hideTimer: ReturnType<typeof setTimeout> | undefined;

/** Shows a message at the bottom of the page for a few seconds (errors in red). */
export function showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  const box = byId('message');
  box.textContent = text;
  box.className = kind === 'info' ? 'info' : '';
  box.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => (box.hidden = true), kind === 'info' ? 3000 : 8000);
}

/** Runs an async action, showing its error message instead of throwing. */
export async function guarded<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    showMessage((error as Error).message);
    return undefined;
  }
}

/** A number for a table cell: integers as they are, others to 3 decimals. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/** 75 → '1m15s'. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
