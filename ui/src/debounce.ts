import { useEffect, useState } from "react";

/** How long typing must pause before a search box's text counts. */
export const TYPING_PAUSE_MS = 300;

/**
 * `value` once it has stayed the same for `ms`: a search typed letter by
 * letter asks the engine once, for the words the user stopped at, instead
 * of once per letter (each a pass through every card of a big store).
 */
export function useSettled<T>(value: T, ms = TYPING_PAUSE_MS): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
