import { useMemo, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../api";
import { TemplateOptions } from "../components/TemplateOptions";
import type { ConnectorTaskSettings, DirectoryObjects, DirectoryOperation, Limits, OnLimit, Run, Task, TaskInput, TaskUsage } from "../bindings";
import { Confirm } from "../components/Confirm";
import { progressText, useTaskProgress } from "../progress";
import { DAILY_COUNTS, DAYS, MINUTE_STEPS, cronOf, presetOf, type Preset } from "./schedule";
import type { Open } from "./nav";
import { Field } from "../components/Field";

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
  const existing = useQuery({ queryKey: ["task", props.taskId], queryFn: () => api.getTask(props.taskId ?? ""), enabled: props.taskId !== null });
  if (props.taskId !== null && !existing.data) {
    return existing.error ? <div className="banner error">{errorMessage(existing.error)}</div> : <p>Loading…</p>;
  }
  return <TaskForm {...props} initial={existing.data ? draftOf(existing.data) : newDraft(props.usage)} />;
}

/** The editor itself; `initial` is the stored task or a new one. */
export function TaskForm(props: EditorProps & { initial: TaskInput }) {
  const { connectorId, taskId, open } = props;
  const client = useQueryClient();
  const connector = useQuery({ queryKey: ["connector", connectorId], queryFn: () => api.getConnector(connectorId) });
  // An HR connector sets its tasks' run type and limits; the editor shows them with that source.
  const fromConnector = useQuery({ queryKey: ["connector-task-settings", connectorId], queryFn: () => api.connectorTaskSettings(connectorId) });
  const [draft, setDraft] = useState<TaskInput>(props.initial);
  const [savedId, setSavedId] = useState<string | null>(taskId);
  const usage = draft.usage ?? props.usage;
  const sections = sectionsFor(usage, draft.run_type, savedId !== null);
  const [section, setSection] = useState<Section>(sections[0] ?? "Task details");
  const set = (patch: Partial<TaskInput>) => setDraft((d) => ({ ...d, ...patch }));

  // What is checked and saved: the draft without mapping rows left empty.
  const input: TaskInput = { ...draft, mappings: (draft.mappings ?? []).filter((m) => m.source || m.target) };
  const missing = useQuery({
    queryKey: ["missing", input],
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
      void client.invalidateQueries();
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
  const engine = useQuery({ queryKey: ["engine-status"], queryFn: () => api.engineStatus() });
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
      {clear.isSuccess && <div className="banner notice">The data cache was cleared: the next run compares with nothing and writes every record.</div>}
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
              The data cache remembers what the last run loaded, so that unchanged records are not written again. Clear it with <strong>Clear data cache</strong> in the top bar to reload every record on the next run.
            </p>
          )}
          {section === "Test" && savedId && <TestPanel taskId={savedId} draft={draft} />}
        </div>
      </div>
    </section>
  );
}

type Part = { draft: TaskInput; set: (p: Partial<TaskInput>) => void };


/** A labelled select of numbered choices: (value, text) pairs. */
function NumberChoice(props: { label: string; value: number; options: [number, string][]; onChange: (n: number) => void }) {
  return (
    <Field label={props.label}>
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange(Number(e.target.value))}>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </Field>
  );
}

const ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

function Scheduling({ draft, set, taskId }: Part & { taskId: string | null }) {
  const schedule = draft.schedule ?? "";
  const [preset, setPreset] = useState<Preset>(() => presetOf(schedule));
  const choose = (p: Preset) => {
    setPreset(p);
    const cron = cronOf(p);
    if (cron) set({ schedule: cron });
  };
  const preview = useQuery({
    queryKey: ["preview", schedule, draft.timezone, draft.run_type, taskId],
    queryFn: () => api.schedulePreview(schedule, draft.timezone ?? "UTC", draft.run_type ?? "full", taskId),
    enabled: schedule.trim() !== "",
    placeholderData: keepPreviousData,
  });
  return (
    <div className="form">
      <Field label="Enabled">
        <input type="checkbox" aria-label="Enabled" checked={draft.enabled ?? true} onChange={(e) => set({ enabled: e.target.checked })} />
      </Field>
      <Field label="Repeat">
        <select
          aria-label="Repeat"
          value={preset.kind}
          onChange={(e) => {
            const kind = e.target.value;
            choose(
              kind === "minutes"
                ? { kind, every: 15 }
                : kind === "hourly"
                  ? { kind }
                  : kind === "times"
                    ? { kind, count: 4, time: "00:00" }
                    : kind === "daily"
                      ? { kind, time: "02:00" }
                      : kind === "weekly"
                        ? { kind, day: 1, time: "02:00" }
                        : { kind: "custom" },
            );
          }}
        >
          <option value="minutes">Every N minutes</option>
          <option value="hourly">Hourly</option>
          <option value="times">N times a day</option>
          <option value="daily">Daily at</option>
          <option value="weekly">Weekly on</option>
          <option value="custom">Custom (cron expression)</option>
        </select>
      </Field>
      {preset.kind === "weekly" && (
        <NumberChoice label="Day" value={preset.day} options={DAYS.map((d, i) => [i, d])} onChange={(day) => choose({ ...preset, day })} />
      )}
      {preset.kind === "minutes" && (
        <NumberChoice label="Every (minutes)" value={preset.every} options={MINUTE_STEPS.map((n) => [n, String(n)])} onChange={(every) => choose({ kind: "minutes", every })} />
      )}
      {preset.kind === "times" && (
        <>
          <NumberChoice label="Times a day" value={preset.count} options={DAILY_COUNTS.map((n) => [n, String(n)])} onChange={(count) => choose({ ...preset, count })} />
          <Field label="First time" hint="the others follow at even intervals">
            <input type="time" aria-label="First time" value={preset.time} onChange={(e) => choose({ ...preset, time: e.target.value })} />
          </Field>
        </>
      )}
      {(preset.kind === "daily" || preset.kind === "weekly") && (
        <Field label="Time">
          <input type="time" aria-label="Time" value={preset.time} onChange={(e) => choose({ ...preset, time: e.target.value })} />
        </Field>
      )}
      <Field label="Cron expression" hint="seconds minutes hours day-of-month month day-of-week">
        <input
          aria-label="Cron expression"
          className="mono"
          value={schedule}
          onChange={(e) => {
            setPreset({ kind: "custom" });
            set({ schedule: e.target.value });
          }}
        />
      </Field>
      <Field label="Time zone">
        <input aria-label="Time zone" list="time-zones" value={draft.timezone ?? ""} onChange={(e) => set({ timezone: e.target.value })} />
      </Field>
      <datalist id="time-zones">
        {ZONES.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <div className="wide" data-testid="schedule-preview">
        {preview.error ? (
          <div className="note error">{errorMessage(preview.error)}</div>
        ) : (
          <>
            <h3>Next runs</h3>
            <ol>{(preview.data?.next ?? []).map((t) => <li key={t}>{new Date(t).toLocaleString()} ({t})</li>)}</ol>
            {preview.data?.warning && (
              <div className="banner warning" role="note">
                {preview.data.warning}
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}

/** A directory event task's operations, in the words the docs use; the inputs each needs are checked at save. */
const DIRECTORY_OPERATIONS: [DirectoryOperation, string][] = [
  ["create_user", "Create user"],
  ["update_attributes", "Update attributes"],
  ["enable", "Enable account"],
  ["disable", "Disable account"],
  ["add_to_group", "Add to group"],
  ["remove_from_group", "Remove from group"],
  ["reset_password", "Reset password"],
  ["delete", "Delete entry"],
  ["verify_user", "Verify user (read back)"],
  ["verify_group", "Verify group (read back)"],
  ["verify_membership", "Verify membership (read back)"],
];

function Details({ draft, set, fromConnector, directory }: Part & { fromConnector: ConnectorTaskSettings | null; directory: boolean }) {
  return (
    <div className="form">
      <Field label="Name">
        <input aria-label="Name" value={draft.name ?? ""} onChange={(e) => set({ name: e.target.value })} />
      </Field>
      {directory && draft.usage === "scheduled" && (
        <Field label="Reads" hint="the entries of the connector's user filter or of its group filter">
          <select
            aria-label="Reads"
            value={draft.directory_objects ?? "users"}
            onChange={(e) => set({ directory_objects: e.target.value as DirectoryObjects })}
          >
            <option value="users">Users</option>
            <option value="groups">Groups</option>
          </select>
        </Field>
      )}
      {directory && draft.usage === "event" && (
        <Field label="Operation" hint="what an invocation does with the entry its dn names">
          <select
            aria-label="Operation"
            value={draft.directory_operation ?? ""}
            onChange={(e) => {
              const operation = e.target.value as DirectoryOperation;
              // The verifications hand values back (read); every other operation writes.
              set({ directory_operation: operation, event_usage: operation.startsWith("verify_") ? "read" : "write" });
            }}
          >
            <option value="" disabled>
              Choose an operation
            </option>
            {DIRECTORY_OPERATIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      )}
      {draft.usage === "event" ? (
        <Field label="Usage">
          <select aria-label="Usage" value={draft.event_usage ?? "write"} onChange={(e) => set({ event_usage: e.target.value as "write" | "read" })}>
            <option value="write">Write (the script's records are loaded)</option>
            <option value="read">Read (the script returns values to the caller)</option>
          </select>
        </Field>
      ) : fromConnector ? (
        <Field label="Run type" hint={`set in ${fromConnector.source}`}>
          <output aria-label="Run type" data-testid="run-type-from-connector">
            {fromConnector.run_type === "partial" ? "Partial" : "Full"}
          </output>
        </Field>
      ) : (
        <Field label="Run type">
          <select aria-label="Run type" value={draft.run_type ?? "full"} onChange={(e) => set({ run_type: e.target.value as "full" | "incremental" })}>
            <option value="full">Full</option>
            <option value="incremental">Incremental</option>
          </select>
        </Field>
      )}
      <Field label="Object id attribute" hint="the source attribute that identifies a record">
        <input aria-label="Object id attribute" value={draft.object_id_attribute ?? ""} onChange={(e) => set({ object_id_attribute: e.target.value })} />
      </Field>
      <Field
        label="Task id attribute"
        hint={
          draft.usage === "scheduled"
            ? "required: the card attribute that records which task wrote it (a full run marks only its own cards removed)"
            : "optional: the card attribute that records which task wrote it"
        }
      >
        <input aria-label="Task id attribute" value={draft.task_id_attribute ?? ""} onChange={(e) => set({ task_id_attribute: e.target.value || null })} />
      </Field>
      {draft.usage === "event" && (
        <Field label="Declared callers" hint="workflows that call this task, comma separated">
          <input
            aria-label="Declared callers"
            value={(draft.declared_callers ?? []).join(", ")}
            onChange={(e) => set({ declared_callers: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
          />
        </Field>
      )}
    </div>
  );
}

function Mappings({ draft, set, target }: Part & { target: string }) {
  const templates = useQuery({ queryKey: ["templates", target], queryFn: () => api.listTemplates(target) });
  const folders = useQuery({ queryKey: ["folders", target], queryFn: () => api.listFolders(target) });
  const template = (templates.data ?? []).find((t) => t.code === draft.target_template);
  const accepting = (folders.data ?? []).filter((f) => !draft.target_template || f.templates.includes(draft.target_template));
  const rows = draft.mappings ?? [];
  const setRow = (i: number, patch: Partial<{ source: string; target: string }>) =>
    set({ mappings: rows.map((m, j) => (j === i ? { ...m, ...patch } : m)) });
  return (
    <div className="form">
      <Field label="Template">
        <select aria-label="Template" value={draft.target_template ?? ""} onChange={(e) => set({ target_template: e.target.value, target_folder: "" })}>
          <TemplateOptions templates={templates.data} />
        </select>
      </Field>
      <Field label="Folder">
        <select aria-label="Folder" value={draft.target_folder ?? ""} onChange={(e) => set({ target_folder: e.target.value })}>
          <option value="">Choose a folder…</option>
          {accepting.map((f) => (
            <option key={f.code} value={f.code}>
              {f.name} ({f.code})
            </option>
          ))}
        </select>
      </Field>
      <div className="wide">
        <table className="grid" aria-label="Mappings">
          <thead>
            <tr>
              <th>Source attribute</th>
              <th>Template attribute</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((m, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Source attribute ${i + 1}`} value={m.source} onChange={(e) => setRow(i, { source: e.target.value })} />
                </td>
                <td>
                  <select aria-label={`Template attribute ${i + 1}`} value={m.target} onChange={(e) => setRow(i, { target: e.target.value })}>
                    <option value="">Choose…</option>
                    {(template?.attributes ?? []).map((a) => (
                      <option key={a.code} value={a.code}>
                        {a.code}
                        {a.multi_value ? " (multi-value)" : ""}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => set({ mappings: rows.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => set({ mappings: [...rows, { source: "", target: "" }] })}>
          Add mapping
        </button>
        {!template && <p className="hint">Choose a template to pick its attributes.</p>}
      </div>
    </div>
  );
}

function Removal({ draft, set }: Part) {
  const r = draft.removal;
  return (
    <div className="form">
      <Field label="Mark removed records">
        <input
          type="checkbox"
          aria-label="Mark removed records"
          checked={r != null}
          onChange={(e) => set({ removal: e.target.checked ? { status_attribute: "", removed_value: "" } : null })}
        />
      </Field>
      {r && (
        <>
          <Field label="Status attribute">
            <input aria-label="Status attribute" value={r.status_attribute} onChange={(e) => set({ removal: { ...r, status_attribute: e.target.value } })} />
          </Field>
          <Field label="Removed value">
            <input aria-label="Removed value" value={r.removed_value} onChange={(e) => set({ removal: { ...r, removed_value: e.target.value } })} />
          </Field>
        </>
      )}
    </div>
  );
}

const num = (v: string) => (v.trim() === "" ? null : Math.max(0, Math.floor(Number(v))));

function LimitsSection({ draft, set, fromConnector }: Part & { fromConnector: ConnectorTaskSettings | null }) {
  const l: Limits = draft.limits ?? { update_limit: null, override_update_limit: false, minimum_row_count: null, on_limit: "interrupt" };
  // What a run does over the limit is the task's own, whoever sets the limit.
  const onLimit = (
    <Field
      label="Over the update limit"
      hint="hold the removals: when removals are what goes over the limit, the new and changed cards load and the removals wait for approval from the alert"
    >
      <select aria-label="Over the update limit" value={l.on_limit ?? "interrupt"} onChange={(e) => set({ limits: { ...l, on_limit: e.target.value as OnLimit } })}>
        <option value="interrupt">Interrupt the run: load nothing until approved</option>
        <option value="hold_excess">Load the rest, hold the removals for approval</option>
      </select>
    </Field>
  );
  if (fromConnector) {
    // An HR task runs with its connector's limits: shown here, set in the connector's block.
    const c = fromConnector.limits;
    return (
      <div className="form" data-testid="limits-from-connector">
        <p className="hint">These limits apply to every run of this task. They are set in {fromConnector.source}.</p>
        <dl className="detail-grid">
          <dt>Update limit</dt>
          <dd>{c.update_limit ?? (fromConnector.run_type === "partial" ? "none" : "none (full runs)")}</dd>
          <dt>Always override the update limit</dt>
          <dd>{c.override_update_limit ? "yes" : "no"}</dd>
          <dt>Minimum row count</dt>
          <dd>{c.minimum_row_count ?? "none"}</dd>
        </dl>
        {onLimit}
      </div>
    );
  }
  return (
    <div className="form">
      <Field label="Update limit" hint="creates + updates + removals a run may make before it waits for approval">
        <input type="number" min={0} aria-label="Update limit" value={l.update_limit ?? ""} onChange={(e) => set({ limits: { ...l, update_limit: num(e.target.value) } })} />
      </Field>
      <Field
        label="Always override the update limit"
        hint="a standing setting: every run goes past the update limit; to let one interrupted run through, approve it from its alert"
      >
        <input type="checkbox" aria-label="Always override the update limit" checked={l.override_update_limit ?? false} onChange={(e) => set({ limits: { ...l, override_update_limit: e.target.checked } })} />
      </Field>
      <Field label="Minimum row count" hint="fewer records than this interrupts the run">
        <input type="number" min={0} aria-label="Minimum row count" value={l.minimum_row_count ?? ""} onChange={(e) => set({ limits: { ...l, minimum_row_count: num(e.target.value) } })} />
      </Field>
      {onLimit}
    </div>
  );
}

function Failure({ draft, set }: Part) {
  const f = draft.failure;
  return (
    <div className="form">
      <Field label="Write a failure card">
        <input type="checkbox" aria-label="Write a failure card" checked={f != null} onChange={(e) => set({ failure: e.target.checked ? { template: "", folder: "", attribute: "" } : null })} />
      </Field>
      {f && (
        <>
          <Field label="Failure template">
            <input aria-label="Failure template" value={f.template} onChange={(e) => set({ failure: { ...f, template: e.target.value } })} />
          </Field>
          <Field label="Failure folder">
            <input aria-label="Failure folder" value={f.folder} onChange={(e) => set({ failure: { ...f, folder: e.target.value } })} />
          </Field>
          <Field label="Failure attribute">
            <input aria-label="Failure attribute" value={f.attribute} onChange={(e) => set({ failure: { ...f, attribute: e.target.value } })} />
          </Field>
        </>
      )}
    </div>
  );
}

function Runtime({ draft, set }: Part) {
  return (
    <div className="form">
      <Field label="Heartbeat timeout (seconds)" hint="a script silent this long is stopped">
        <input type="number" min={1} aria-label="Heartbeat timeout (seconds)" value={draft.heartbeat_timeout ?? ""} onChange={(e) => set({ heartbeat_timeout: num(e.target.value) })} />
      </Field>
      <Field label="Maximum runtime (seconds)" hint="empty for no limit">
        <input type="number" min={1} aria-label="Maximum runtime (seconds)" value={draft.max_runtime ?? ""} onChange={(e) => set({ max_runtime: num(e.target.value) })} />
      </Field>
      {draft.usage !== "event" && (
        <Field label="Stale after" hint="an alert when no run succeeded for this long, e.g. 26h (m, h or d); empty for none">
          <input aria-label="Stale after" value={draft.stale_after ?? ""} onChange={(e) => set({ stale_after: e.target.value.trim() || null })} />
        </Field>
      )}
    </div>
  );
}

/** Invokes the event task with values typed here and shows how it ended. */
function TestPanel({ taskId, draft }: { taskId: string; draft: TaskInput }) {
  const sources = (draft.mappings ?? []).map((m) => m.source).filter(Boolean);
  const [values, setValues] = useState<Record<string, string>>({});
  const invoke = useMutation({ mutationFn: () => api.invokeEvent(taskId, values) });
  const run: Run | undefined = invoke.data;
  const fields = useMemo(() => (sources.length ? sources : ["value"]), [sources]);
  return (
    <div className="form">
      {fields.map((s) => (
        <Field key={s} label={s}>
          <input aria-label={`Test value ${s}`} value={values[s] ?? ""} onChange={(e) => setValues((v) => ({ ...v, [s]: e.target.value }))} />
        </Field>
      ))}
      <button type="button" onClick={() => invoke.mutate()} disabled={invoke.isPending}>
        Invoke
      </button>
      <div className="wide" data-testid="test-outcome">
        {invoke.isPending && <p>Invoking…</p>}
        {invoke.error && <div className="banner error">{errorMessage(invoke.error)}</div>}
        {run && (
          <div className={run.status === "succeeded" ? "banner notice" : "banner error"}>
            {run.status}
            {run.outcome ? ` (${run.outcome})` : ""}
            {run.message ? `: ${run.message}` : ""}
            {run.returned ? <pre>{JSON.stringify(run.returned, null, 2)}</pre> : null}
          </div>
        )}
      </div>
    </div>
  );
}
