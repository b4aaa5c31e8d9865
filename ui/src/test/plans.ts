import type { PlannedChanges } from "../bindings";

/**
 * A review's plan as the engine sends it: every field there, so that a field
 * the engine adds fails the type check here rather than a screen at run time;
 * each test gives what it is about.
 */
export function plannedChanges(p: Pick<PlannedChanges, "help" | "run_id" | "reason"> & Partial<PlannedChanges>): PlannedChanges {
  return {
    task_id: "t1",
    task: "HR/Nightly",
    new: 0,
    changed: 0,
    removals: 0,
    removed_object_ids: [],
    removed_cards: [],
    changed_object_ids: [],
    changed_cards: [],
    new_cards: [],
    cards_unread: null,
    ...p,
  };
}
