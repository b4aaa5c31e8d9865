import { useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { Task, TaskInput, TaskUsage } from "../../bindings";
import { Confirm } from "../../components/Confirm";
import { progressText, useTaskProgress } from "../../progress";
import type { Open } from "../../navigation";
import { configurationKeys, invalidate, queryKeys } from "../../queryKeys";
import { Scheduling } from "./editor/Scheduling";
import { Details } from "./editor/Details";
import { Mappings } from "./editor/Mappings";
import { Removal } from "./editor/Removal";
import { LimitsSection } from "./editor/Limits";
import { Failure } from "./editor/Failure";
import { Runtime } from "./editor/Runtime";
import { TestPanel } from "./editor/TestPanel";

/** The labels the editor shows for the engine's field names (the missing-fields list uses them). */
export const FIELD_LABEL: Record<string, string> = {
  name: "Name",
  schedule: "Cron expression",
  timezone: "Time zone",
  target_template: "Template",
  target_folder: "Folder",
  object_id_attribute: "Object id attribute",
  mappings: "Mappings",
  task_id_attribute: "Task id attribute",
};

type Section = "Scheduling" | "Task details" | "Mappings" | "Removal" | "Limits" | "Failure settings" | "Runtime" | "Cache" | "Test";

/** The sections that apply to the options chosen. */
export function sectionsFor(usage: TaskUsage, runType: string | null | undefined, saved: boolean): Section[] {
  if (usage === "event") return ["Task details", "Mappings", "Failure settings", "Runtime", ...(saved ? (["Test"] as const) : [])];
  return [
    "Scheduling",
    "Task details",
    "Mappings",
    ...(runType !== "incremental" ? (["Removal"] as const) : []),
    "Limits",
    "Failure settings",
    "Runtime",
    "Cache",
  ];
}

function draftOf(t: Task): TaskInput {
  return {
    name: t.name,
    usage: t.usage,
    event_usage: t.event_usage ?? "write",
    enabled: t.enabled,
    schedule: t.schedule,
    timezone: t.timezone,
    run_type: t.run_type,
    mappings_type: t.mappings_type,
    object_id_attribute: t.object_id_attribute,
    target_template: t.target_template,
    target_folder: t.target_folder,
    task_id_attribute: t.task_id_attribute,
    data_source_type_attribute: t.data_source_type_attribute,
    mappings: t.mappings,
    failure: t.failure,
    removal: t.removal,
    limits: t.limits,
    heartbeat_timeout: t.heartbeat_timeout,
    max_runtime: t.max_runtime,
    ...(t.stale_after ? { stale_after: t.stale_after } : {}),
    ...(t.display_fields?.length ? { display_fields: t.display_fields } : {}),
    ...(t.directory_objects ? { directory_objects: t.directory_objects } : {}),
    ...(t.directory_operation ? { directory_operation: t.directory_operation } : {}),
    declared_callers: t.references.filter((r) => r.declared).map((r) => r.caller),
  };
}

function newDraft(usage: TaskUsage): TaskInput {
  return {
    name: "",
    usage,
    enabled: true,
    schedule: usage === "scheduled" ? "0 0 2 * * *" : null,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    run_type: "full",
    mappings_type: "generic",
    object_id_attribute: "",
    target_template: "",
    target_folder: "",
    // The seeded templates' attributes for "which task wrote this card" and "from which kind of source".
    task_id_attribute: "taskid",
    data_source_type_attribute: "dataSourceType",
    mappings: [{ source: "", target: "" }],
  };
}

type EditorProps = { connectorId: string; taskId: string | null; usage: TaskUsage; open: Open };

export function TaskEditor(props: EditorProps) {
  const existing = useQuery({ queryKey: queryKeys.tasks.one(props.taskId), queryFn: () => api.getTask(props.taskId ?? ""), enabled: props.taskId !== null });
  if (props.taskId !== null && !existing.data) {
    return existing.error ? <div className="banner error">{errorMessage(existing.error)}</div> : <p>Loading…</p>;
  }
  return <TaskForm {...props} initial={existing.data ? draftOf(existing.data) : newDraft(props.usage)} />;
}

/** The editor itself; `initial` is the stored task or a new one. */
export function TaskForm(props: EditorProps & { initial: TaskInput }) {
  const { connectorId, taskId, open } = props;
  const client = useQueryClient();
  const connector = useQuery({ queryKey: queryKeys.connectors.one(connectorId), queryFn: () => api.getConnector(connectorId) });
  // An HR connector sets its tasks' run type and limits; the editor shows them with that source.
  const fromConnector = useQuery({ queryKey: queryKeys.connectors.taskSettings(connectorId), queryFn: () => api.connectorTaskSettings(connectorId) });
  const [draft, setDraft] = useState<TaskInput>(props.initial);
  const [savedId, setSavedId] = useState<string | null>(taskId);
  const usage = draft.usage ?? props.usage;
  const sections = sectionsFor(usage, draft.run_type, savedId !== null);
  const [section, setSection] = useState<Section>(sections[0] ?? "Task details");
  const set = (patch: Partial<TaskInput>) => setDraft((d) => ({ ...d, ...patch }));

  // What is checked and saved: the draft without mapping rows left empty.
  const input: TaskInput = { ...draft, mappings: (draft.mappings ?? []).filter((m) => m.source || m.target) };
  const missing = useQuery({
    queryKey: queryKeys.tasks.missing(input),
    queryFn: () => api.missingTaskFields(input),
    placeholderData: keepPreviousData,
  });
  const missingFields = missing.data ?? [];
  const missingLabels = missingFields.map((f) => FIELD_LABEL[f] ?? f);

  const save = useMutation({
    mutationFn: () => api.saveTask(connectorId, savedId, input),
    onSuccess: (task) => {
      setSavedId(task.id);
      setWarnings(null);
      void invalidate(client, ...configurationKeys());
    },
  });
  // A saved task that workflows call: the engine says first what the change would break.
  const [warnings, setWarnings] = useState<string[] | null>(null);
  const askFirst = useMutation({
    mutationFn: () => (savedId ? api.taskChangeWarnings(savedId, input) : Promise.resolve([])),
    onSuccess: (found) => (found.length > 0 ? setWarnings(found) : save.mutate()),
  });
  const progress = useTaskProgress(savedId ?? undefined);
  const running = progress?.status === "running";
  const runNow = useMutation({ mutationFn: () => api.runNow(savedId ?? "") });
  // In production, Run now asks first.
  const engine = useQuery({ queryKey: queryKeys.engineStatus(), queryFn: () => api.engineStatus() });
  const [confirmRun, setConfirmRun] = useState(false);
  const startRun = () => (engine.data?.environment_type === "prod" ? setConfirmRun(true) : runNow.mutate());
  const stop = useMutation({ mutationFn: () => api.stopTask(savedId ?? "") });
  const clear = useMutation({ mutationFn: () => api.clearCache(savedId ?? "") });
  const actionError = save.error ?? askFirst.error ?? runNow.error ?? stop.error ?? clear.error;

  const title = savedId ? `${usage === "event" ? "Event" : "Scheduled"} task ${draft.name ?? ""}` : `New ${usage} task`;
  return (
    <section aria-label={title} className="editor">
      <div className="editor-bar">
        <button type="button" onClick={() => open({ kind: "overview" })}>
          ← Overview
        </button>
        <h2>{title}</h2>
        {usage === "scheduled" && (
          <>
            <button type="button" disabled={!savedId || running || !engine.data} onClick={startRun}>
              Run now
            </button>
            <button type="button" disabled={!savedId || !running} onClick={() => stop.mutate()}>
              Stop
            </button>
            <button type="button" disabled={!savedId} onClick={() => clear.mutate()}>
              Clear data cache
            </button>
            {savedId && (
              <button type="button" onClick={() => open({ kind: "history", taskId: savedId, taskName: draft.name ?? "" })}>
                History
              </button>
            )}
          </>
        )}
        <button
          type="button"
          className="primary"
          disabled={missingFields.length > 0 || save.isPending || askFirst.isPending}
          title={missingFields.length > 0 ? `Missing: ${missingLabels.join(", ")}` : "Save the task"}
          onClick={() => askFirst.mutate()}
        >
          Save
        </button>
      </div>
      {warnings && (
        <Confirm
          title="Workflows call this task"
          action="Save anyway"
          onCancel={() => setWarnings(null)}
          onConfirm={() => {
            setWarnings(null);
            save.mutate();
          }}
        >
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </Confirm>
      )}
      {confirmRun && (
        <Confirm
          title="Run in production"
          action="Run now"
          onCancel={() => setConfirmRun(false)}
          onConfirm={() => {
            setConfirmRun(false);
            runNow.mutate();
          }}
        >
          <p>This is a production installation: the run writes to {connector.data?.target === "local" ? "the local datacard store" : `target ${connector.data?.target ?? ""}`} now, outside its schedule.</p>
        </Confirm>
      )}
      {progress && (
        <div className={running ? "banner notice" : "banner"} role="status" data-testid="run-progress">
          {progressText(progress)}
        </div>
      )}
      {save.isSuccess && !save.isPending && <div className="banner notice">Saved.</div>}
      {clear.isSuccess && <div className="banner notice">The data cache was cleared: the next run checks every record against its card again.</div>}
      {actionError && (
        <div className="banner error" role="alert">
          {errorMessage(actionError)}
        </div>
      )}
      {missingFields.length > 0 && (
        <div className="missing" data-testid="missing-fields">
          Save needs: <ul aria-label="Missing fields">{missingLabels.map((m) => <li key={m}>{m}</li>)}</ul>
        </div>
      )}
      <div className="editor-body">
        <nav className="section-menu" aria-label="Task sections">
          {sections.map((s) => (
            <button key={s} type="button" aria-current={s === section ? "page" : undefined} className={s === section ? "active" : ""} onClick={() => setSection(s)}>
              {s}
            </button>
          ))}
        </nav>
        <div className="section-body">
          {section === "Scheduling" && <Scheduling draft={draft} set={set} taskId={savedId} />}
          {section === "Task details" && <Details draft={draft} set={set} fromConnector={fromConnector.data ?? null} directory={connector.data?.type === "ldap"} />}
          {section === "Mappings" && <Mappings draft={draft} set={set} target={connector.data?.target ?? "local"} />}
          {section === "Removal" && <Removal draft={draft} set={set} />}
          {section === "Limits" && <LimitsSection draft={draft} set={set} fromConnector={fromConnector.data ?? null} />}
          {section === "Failure settings" && <Failure draft={draft} set={set} />}
          {section === "Runtime" && <Runtime draft={draft} set={set} />}
          {section === "Cache" && (
            <p>
              The data cache remembers what the last run loaded, so that unchanged records are not written again. Clear it with <strong>Clear data cache</strong> in the top bar to check every record against its card again on the next run.
            </p>
          )}
          {section === "Test" && savedId && <TestPanel taskId={savedId} draft={draft} />}
        </div>
      </div>
    </section>
  );
}
