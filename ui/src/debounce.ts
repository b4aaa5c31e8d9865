import { useEffect, useState } from "react";

/**
 * `value` once it has stayed the same for `ms`: a search typed letter by
 * letter asks the engine once, for the words the user stopped at, instead
 * of once per letter (each a pass through every card of a big store).
 */
export function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
