import type { TaskInput } from "../../../bindings";

/** What every section of the editor gets: the draft and a way to change it. */
export type Part = { draft: TaskInput; set: (p: Partial<TaskInput>) => void };

/** A count typed in a field: empty is none, anything else a whole number ≥ 0. */
export const num = (v: string) => (v.trim() === "" ? null : Math.max(0, Math.floor(Number(v))));
