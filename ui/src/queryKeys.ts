import type { QueryClient, QueryKey } from "@tanstack/react-query";

/**
 * Every query key of the window, by area. Screens name keys through these
 * factories, never as literal arrays (ESLint refuses them), so that an
 * invalidation names exactly the areas a change shows in. A key is a
 * prefix of the keys under it: invalidating `tasks.all()` refreshes every
 * `tasks.of(connector)` too.
 */
export const queryKeys = {
  engineStatus: () => ["engine-status"] as const,
  alerts: () => ["alerts"] as const,
  settings: () => ["settings"] as const,
  packagePasswordMin: () => ["package-password-min"] as const,
  targets: () => ["targets"] as const,
  apiTokens: () => ["api-tokens"] as const,
  templates: (target: string) => ["templates", target] as const,
  folders: (target: string) => ["folders", target] as const,
  audit: (since: string, text: string) => ["audit", since, text] as const,
  anyAudit: () => ["audit"] as const,
  engineLog: (level: string, search: string) => ["engine-log", level, search] as const,
  scripts: {
    all: () => ["scripts"] as const,
    source: (name: string) => ["script-source", name] as const,
    versions: (name: string) => ["script-versions", name] as const,
  },
  connectors: {
    all: () => ["connectors"] as const,
    one: (id: string | null) => ["connector", id] as const,
    anyOne: () => ["connector"] as const,
    taskSettings: (id: string) => ["connector-task-settings", id] as const,
    parameterNotes: (type: string, target: string, parameters: unknown) => ["connector-parameter-notes", type, target, parameters] as const,
  },
  tasks: {
    all: () => ["tasks"] as const,
    /** Scheduled and event tasks of one connector; `null`: of all connectors. */
    of: (connectorId: string | null) => ["tasks", connectorId] as const,
    one: (id: string | null) => ["task", id] as const,
    anyOne: () => ["task"] as const,
    missing: (input: unknown) => ["missing", input] as const,
    preview: (schedule: string, timezone: unknown, runType: unknown, taskId: string | null) => ["preview", schedule, timezone, runType, taskId] as const,
    liveProgress: (taskId: string | undefined) => ["live-progress", taskId] as const,
  },
  authTasks: {
    all: () => ["auth-tasks"] as const,
    of: (connectorId: string) => ["auth-tasks", connectorId] as const,
    one: (id: string | null) => ["auth-task", id] as const,
    anyOne: () => ["auth-task"] as const,
  },
  runs: {
    history: () => ["history"] as const,
    historyOf: (taskId: string) => ["history", taskId] as const,
    one: (id: string) => ["run", id] as const,
    anyOne: () => ["run"] as const,
    log: (id: string) => ["run-log", id] as const,
    plannedChanges: (id: string) => ["planned-changes", id] as const,
    help: (id: string) => ["run-help", id] as const,
    undoPlan: (id: string) => ["undo-plan", id] as const,
    undoable: (id: string) => ["undoable", id] as const,
  },
  data: {
    cards: (template: string, folder: string, search: string) => ["datacards", template, folder, search] as const,
    all: () => ["datacards"] as const,
    history: (cardId: number) => ["card-history", cardId] as const,
    anyHistory: () => ["card-history"] as const,
  },
};

/** Refreshes the queries under each key. */
export async function invalidate(client: QueryClient, ...keys: QueryKey[]): Promise<void> {
  await Promise.all(keys.map((queryKey) => client.invalidateQueries({ queryKey })));
}

/** What a change to connectors, tasks, scripts or settings shows in (an import changes all of them). */
export const configurationKeys = (): QueryKey[] => [
  queryKeys.connectors.all(),
  queryKeys.connectors.anyOne(),
  ["connector-task-settings"],
  queryKeys.tasks.all(),
  queryKeys.tasks.anyOne(),
  queryKeys.authTasks.all(),
  queryKeys.authTasks.anyOne(),
  queryKeys.scripts.all(),
  queryKeys.settings(),
  queryKeys.targets(),
  ["templates"],
  ["folders"],
  queryKeys.engineStatus(),
  queryKeys.anyAudit(),
];

/** What a run (or an undo, an approval) shows in: history, its cards, alerts, the tasks' last runs. */
export const runKeys = (): QueryKey[] => [
  queryKeys.runs.history(),
  queryKeys.runs.anyOne(),
  ["run-log"],
  ["planned-changes"],
  ["run-help"],
  ["undo-plan"],
  queryKeys.alerts(),
  queryKeys.engineStatus(),
  queryKeys.tasks.all(),
  queryKeys.connectors.all(),
  queryKeys.data.all(),
  queryKeys.data.anyHistory(),
  queryKeys.anyAudit(),
];
