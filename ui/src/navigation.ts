import type { TaskUsage } from "./bindings";

/** The screens of the Overview tab; one is shown at a time. */
export type Screen =
  | { kind: "overview" }
  | { kind: "connector"; id: string | null }
  | { kind: "task"; connectorId: string; taskId: string | null; usage: TaskUsage }
  | { kind: "history"; taskId: string; taskName: string }
  | { kind: "run"; runId: string; taskId: string; taskName: string };

export type Open = (screen: Screen) => void;
