import type { ConnectorSummary, FieldChange, FieldValue, RunCounts, StageStatus } from "./bindings";

/**
 * How the window writes values, in one place: every screen and tab formats
 * times, stages and connector types through these, so the same value reads
 * the same everywhere.
 */

/** A connector type in the words of the window. */
export const TYPE_LABEL: Record<ConnectorSummary["type"], string> = {
  python_script: "Generic Python Script",
  hr_file: "HR file",
  ldap: "Directory (LDAP / Active Directory)",
};

/** A run stage's status; a dash when the stage has not run. */
export function stageText(s: StageStatus | null | undefined): string {
  return s ?? "—";
}

/** A time (RFC 3339) in the user's locale; a dash when there is none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * A log line's time in the computer's clock, as the window's other times,
 * to the millisecond: the lines of one run follow one another closely. The
 * time as written (UTC) when it is not one.
 */
export function logTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    fractionalSecondDigits: 3,
  });
}

/**
 * A fire time as the task's time zone reads it ("Tue, Dec 8, 2026, 02:00 AM
 * Europe/Helsinki"): the schedule is kept in that zone, and the computer
 * showing it may be in another. The computer's own time when the zone is not
 * one this window knows (the engine then says so).
 */
export function inZone(iso: string, zone: string): string {
  try {
    const text = new Date(iso).toLocaleString(undefined, {
      timeZone: zone,
      weekday: "short",
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });
    return `${text} ${zone}`;
  } catch {
    return `${new Date(iso).toLocaleString()} (this computer)`;
  }
}

/**
 * A count as the engine and the CLI write it, digits grouped by thousands
 * ("150,000"): the window's words are English, and a run's counts read the
 * same in its report (written by the engine) as beside it.
 */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `1 card`, `3 cards`: a count with its noun. */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** The counts a run reports, in the order and words of the run's detail and the CLI. */
const COUNT_NAMES = ["fetched", "valid", "blocked", "created", "updated", "unchanged", "removed", "failed"] as const;

/**
 * A run's counts as words: `fetched 150,000, valid 150,000, …`. `brief` keeps
 * what a history row needs (fetched always, then only counts above zero), so
 * a quiet run after a cache clear reads "fetched 150,000, unchanged 150,000"
 * instead of a row of numbers to subtract.
 */
export function countsText(counts: RunCounts, brief = false): string {
  const parts = COUNT_NAMES.filter((n) => !brief || n === "fetched" || (n !== "valid" && counts[n] > 0)).map((n) => `${n} ${count(counts[n])}`);
  if ((counts.held ?? 0) > 0) parts.push(`held for approval ${count(counts.held ?? 0)}`);
  return parts.join(", ");
}

/** A card field's value as the window shows it in a change: text as it is, a dash for none, anything else as JSON. */
export function valueText(v: unknown): string {
  return v === null || v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);
}

/** A card's changes as the review and the undo plan read them: ` — field: from → to`, each. */
export function changesText(changes: FieldChange[]): string {
  return changes.map((c) => ` — ${c.field}: ${valueText(c.from)} → ${valueText(c.to)}`).join("");
}

/** The values that say whose card it is, beside its key: `last_name Smith, first_name Ann`. */
export function fieldValuesText(values: FieldValue[]): string {
  return values.map((v) => `${v.field} ${valueText(v.value)}`).join(", ");
}

/**
 * Whose card it is: `E-1 (card 12: last_name Smith, first_name Ann)`, or
 * `Card 12 (…)` when the card holds no key. The review of a plan and the
 * undo of a run name a card alike.
 */
export function cardText(card: { object_id?: string | null; card_id: number; holds?: FieldValue[] }): string {
  const holds = fieldValuesText(card.holds ?? []);
  if (card.object_id) return `${card.object_id} (card ${card.card_id}${holds ? `: ${holds}` : ""})`;
  return `Card ${card.card_id}${holds ? ` (${holds})` : ""}`;
}
