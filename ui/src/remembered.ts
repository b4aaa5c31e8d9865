// What a tab's filters were when a person left it: the tabs unmount when
// another is chosen, and coming back to the Data tab should not start again
// from "Choose a template…". Kept for this window's life, never on disk.
import { useState } from "react";

const kept = new Map<string, unknown>();

/** `useState` that outlives its component: the value is kept under `key` until the window closes. */
export function useRemembered<T>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => (kept.has(key) ? (kept.get(key) as T) : initial));
  return [
    value,
    (next: T) => {
      kept.set(key, next);
      setValue(next);
    },
  ];
}

/** Forgets every remembered value (tests start each from the defaults). */
export function forgetRemembered(): void {
  kept.clear();
}
