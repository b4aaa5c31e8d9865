// Live run progress pushed by the engine (typed `RunProgressEvent`s), kept
// per run for whichever screen shows it. A run's last message (a final
// status) also refreshes the cached lists that depend on it.
import { useSyncExternalStore } from "react";
import { useQuery, type QueryClient } from "@tanstack/react-query";
import { api } from "./api";
import { events, type RunProgress } from "./bindings";
import { queryKeys } from "./queryKeys";

let byRun: ReadonlyMap<string, RunProgress> = new Map();
const listeners = new Set<() => void>();

function publish(p: RunProgress) {
  const next = new Map(byRun);
  next.set(p.run_id, p);
  byRun = next;
  for (const l of listeners) l();
}

/** Starts listening once, at start-up. */
export async function listenToProgress(client: QueryClient): Promise<() => void> {
  return events.runProgressEvent.listen((event) => {
    const p = event.payload;
    publish(p);
    if (p.status !== "running") {
      void client.invalidateQueries({ queryKey: queryKeys.connectors.all() });
      void client.invalidateQueries({ queryKey: queryKeys.tasks.all() });
      void client.invalidateQueries({ queryKey: queryKeys.runs.historyOf(p.task_id) });
      void client.invalidateQueries({ queryKey: queryKeys.runs.one(p.run_id) });
      if (p.status !== "succeeded") void client.invalidateQueries({ queryKey: queryKeys.alerts() });
    }
  });
}

/** The top bar's scheduler light follows each change of who schedules as it happens. */
export async function listenToScheduling(client: QueryClient): Promise<() => void> {
  return events.schedulerStatusEvent.listen(() => {
    void client.invalidateQueries({ queryKey: queryKeys.engineStatus() });
  });
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The latest progress of every run this window heard of. */
export function useProgress(): ReadonlyMap<string, RunProgress> {
  return useSyncExternalStore(subscribe, () => byRun);
}

/** The running run of a task, if one is reporting. */
export function useTaskProgress(taskId: string | undefined): RunProgress | undefined {
  const all = useProgress();
  let found: RunProgress | undefined;
  if (taskId) for (const p of all.values()) if (p.task_id === taskId) found = p;
  // A run another process executes (provisio serve, another window) sends no
  // event here: its progress is read from the store while it runs.
  const recorded = useQuery({
    queryKey: queryKeys.tasks.liveProgress(taskId),
    queryFn: () => api.liveProgress(taskId ?? ""),
    enabled: taskId !== undefined && found?.status !== "running",
    refetchInterval: 1000,
  });
  if (found?.status === "running") return found;
  return recorded.data ?? found;
}

/** "Load: 1,200 read, 800 loaded" */
export function progressText(p: RunProgress): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const where = p.status === "running" ? (p.stage ? stageLabel(p.stage) : "Starting") : `Ended: ${p.status}`;
  return `${where}: ${n(p.records_read)} records read, ${n(p.records_loaded)} loaded`;
}

function stageLabel(stage: NonNullable<RunProgress["stage"]>): string {
  return { queued: "Queued", extract: "Extract", validate: "Validate", load: "Load", report: "Report" }[stage];
}
