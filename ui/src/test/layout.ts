import { afterAll, beforeAll } from "vitest";

/**
 * jsdom lays nothing out: for the tests of the calling `describe`, every
 * element gets a window's size, or a virtualized table's scroller is 0 px
 * high and shows no row.
 */
export function withWindowSize(): void {
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 500 });
    Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
  });
  afterAll(() => {
    Reflect.deleteProperty(HTMLElement.prototype, "clientHeight");
    Reflect.deleteProperty(HTMLElement.prototype, "clientWidth");
  });
}
