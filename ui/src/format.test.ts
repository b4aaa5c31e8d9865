import { describe, expect, it } from "vitest";
import { countsText, inZone, logTime } from "./format";

const zero = { fetched: 0, valid: 0, blocked: 0, created: 0, updated: 0, unchanged: 0, removed: 0, failed: 0, takeovers: 0 };

describe("a run's counts in words", () => {
  it("lists every count for the run's detail, in the CLI's order", () => {
    expect(countsText({ ...zero, fetched: 3, valid: 3, failed: 3 })).toBe(
      "fetched 3, valid 3, blocked 0, created 0, updated 0, unchanged 0, removed 0, failed 3",
    );
  });

  it("keeps fetched and the counts above zero for a history row", () => {
    // The first run of a day after a cache clear: a million compared, 20,000 changed, nothing else.
    expect(countsText({ ...zero, fetched: 1000000, valid: 1000000, updated: 20000, unchanged: 980000 }, true)).toBe(
      "fetched 1,000,000, updated 20,000, unchanged 980,000",
    );
    expect(countsText(zero, true)).toBe("fetched 0");
    expect(countsText({ ...zero, fetched: 5, valid: 4, blocked: 1, created: 4, held: 2 }, true)).toBe(
      "fetched 5, blocked 1, created 4, held for approval 2",
    );
  });
});

describe("a fire time in the task's time zone", () => {
  it("reads as the zone's clock, which the computer's may not be", () => {
    // 00:00 UTC in December is 02:00 in Helsinki and 19:00 the day before in New York.
    expect(inZone("2026-12-08T00:00:00Z", "Europe/Helsinki")).toMatch(/Dec 8, 2026.*02:00.*Europe\/Helsinki$/);
    expect(inZone("2026-12-08T00:00:00Z", "America/New_York")).toMatch(/Dec 7, 2026.*07:00 PM America\/New_York$/);
  });

  it("falls back to the computer's clock for a zone the window does not know", () => {
    expect(inZone("2026-12-08T00:00:00Z", "Mars/Olympus")).toMatch(/\(this computer\)$/);
  });
});

describe("a log line's time", () => {
  it("reads in the computer's clock to the millisecond", () => {
    const shown = logTime("2026-12-07T13:22:22.666101Z");
    expect(shown).toContain("2026");
    expect(shown).toMatch(/22[.,]666/);
  });

  it("stays as written when it is not a time", () => {
    expect(logTime("soon")).toBe("soon");
  });
});
