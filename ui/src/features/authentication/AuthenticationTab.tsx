import { useState, type MouseEvent, type ReactNode } from "react";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { AuthTaskInput, ConnectorSummary, LoginVerdict, TaskSummary } from "../../bindings";
import { Confirm } from "../../components/Confirm";
import { onRowControl } from "../../components/VirtualTable";
import { choosePackage, ExportDialog, ImportDialog } from "../packages/Packages";
import { connectorsQuery } from "../connectors/Overview";
import { TYPE_LABEL, when } from "../../format";
import { Field } from "../../components/Field";
import { queryKeys } from "../../queryKeys";

const authTasksQuery = (connectorId: string) => ({
  queryKey: queryKeys.authTasks.of(connectorId),
  queryFn: () => api.listAuthTasks(connectorId),
});

/** Where the editor is: a new task of a connector, or an existing one. */
type Editing = { connector: ConnectorSummary; taskId: string | null };

/**
 * The manual's Authentication tab: the connectors that can authenticate
 * users (directory connectors), how many authentication tasks each has, and
 * those tasks on expanding a row.
 */
export function AuthenticationTab({
  onNewConnector,
  onHistory,
}: {
  onNewConnector: () => void;
  /** Opens a task's run history (on the Overview tab's history screen). */
  onHistory: (taskId: string, taskName: string) => void;
}) {
  const client = useQueryClient();
  const connectors = useQuery(connectorsQuery);
  const engine = useQuery({ queryKey: queryKeys.engineStatus(), queryFn: () => api.engineStatus() });
  const list = (connectors.data ?? []).filter((c) => c.supports_authentication);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState<Editing | null>(null);
  const [exporting, setExporting] = useState<ConnectorSummary[] | null>(null);
  const [importing, setImporting] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const toggle = (set: ReadonlySet<string>, id: string) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  };
  const refresh = () => {
    void client.invalidateQueries({ queryKey: connectorsQuery.queryKey });
    void client.invalidateQueries({ queryKey: queryKeys.authTasks.all() });
    // The top bar's Secure access follows these tasks' runs.
    void client.invalidateQueries({ queryKey: queryKeys.engineStatus() });
  };

  if (editing) {
    return <AuthTaskEditor connector={editing.connector} taskId={editing.taskId} onClose={() => setEditing(null)} />;
  }
  return (
    <section aria-label="Authentication">
      <h2>Authentication</h2>
      <p className="hint">
        Authentication tasks list who may log in to the solution. Only directory connectors support them. A package never carries a task&apos;s realm: set it after an import.
      </p>
      <div className="toolbar">
        <button type="button" className="primary" onClick={onNewConnector}>
          New connector
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => setExporting(list.filter((c) => selected.has(c.id)))}>
          Export selected…
        </button>
        <button
          type="button"
          onClick={() => {
            setDone(null);
            void choosePackage().then(setImporting);
          }}
        >
          Import…
        </button>
        <button type="button" onClick={refresh}>
          Refresh
        </button>
      </div>
      {connectors.error && <div className="banner error">{errorMessage(connectors.error)}</div>}
      {done && (
        <div className="banner notice" role="status">
          {done}
        </div>
      )}
      <table className="grid" aria-label="Connectors that support authentication">
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                aria-label="Select all authentication connectors"
                checked={list.length > 0 && selected.size === list.length}
                onChange={(e) => setSelected(e.target.checked ? new Set(list.map((c) => c.id)) : new Set())}
              />
            </th>
            <th>
              <span className="sr-only">Expand</span>
            </th>
            <th>Id</th>
            <th>Name</th>
            <th>Type</th>
            {/* The manual's word for the column; what it counts, for whoever hovers or listens. */}
            <th title="Authentication tasks of the connector" aria-label="Count of authentication tasks">
              Count
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((c) => {
            const open = expanded.has(c.id);
            return (
              <Rows key={c.id} expanded={open ? <AuthTasksPanel connector={c} edit={(taskId) => setEditing({ connector: c, taskId })} history={onHistory} /> : null}>
                <tr data-testid="auth-connector-row">
                  <td>
                    <input type="checkbox" aria-label={`Select ${c.name}`} checked={selected.has(c.id)} onChange={() => setSelected((s) => toggle(s, c.id))} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="expander"
                      aria-expanded={open}
                      aria-label={`Show authentication tasks of ${c.name}`}
                      onClick={() => setExpanded((s) => toggle(s, c.id))}
                    >
                      {open ? "▾" : "▸"}
                    </button>
                  </td>
                  <td className="mono">{c.id.slice(0, 8)}</td>
                  <td>{c.name}</td>
                  <td>{TYPE_LABEL[c.type]}</td>
                  <td data-testid="auth-count">{c.authentication_count}</td>
                </tr>
              </Rows>
            );
          })}
        </tbody>
      </table>
      {!connectors.isPending && list.length === 0 && (
        <p className="empty">No connector here supports authentication. Create a directory connector (LDAP / Active Directory) with New connector.</p>
      )}
      {exporting && (
        <ExportDialog
          connectors={exporting}
          onClose={(summary) => {
            setExporting(null);
            if (summary) setDone(`Exported ${summary.connectors.length} connectors and ${summary.tasks} tasks to ${summary.path} (realms are not exported).`);
          }}
        />
      )}
      {importing && (
        <ImportDialog
          path={importing}
          prod={engine.data?.environment_type === "prod"}
          onClose={(applied) => {
            setImporting(null);
            if (applied) setDone(`Imported ${applied.connectors.map((c) => c.name).join(", ")}. Set the realm of each imported authentication task, then enable it.`);
          }}
        />
      )}
    </section>
  );
}

/** A connector's row and, when expanded, its tasks in a full-width row below it. */
function Rows({ children, expanded }: { children: ReactNode; expanded: ReactNode }) {
  return (
    <>
      {children}
      {expanded && (
        <tr className="expanded-row">
          <td colSpan={6}>{expanded}</td>
        </tr>
      )}
    </>
  );
}

/** The authentication tasks of one connector, with their realm and last run. */
function AuthTasksPanel({
  connector,
  edit,
  history,
}: {
  connector: ConnectorSummary;
  edit: (taskId: string | null) => void;
  history: (taskId: string, taskName: string) => void;
}) {
  const client = useQueryClient();
  const tasks = useQuery(authTasksQuery(connector.id));
  const all = tasks.data ?? [];
  const details = useQueries({
    queries: all.map((t) => ({ queryKey: queryKeys.authTasks.one(t.id), queryFn: () => api.getAuthTask(t.id) })),
  });
  const realmOf = (i: number) => details[i]?.data?.realm ?? "";
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [removing, setRemoving] = useState<TaskSummary[] | null>(null);
  const changed = () => {
    void client.invalidateQueries({ queryKey: queryKeys.authTasks.all() });
    void client.invalidateQueries({ queryKey: connectorsQuery.queryKey });
    void client.invalidateQueries({ queryKey: queryKeys.engineStatus() });
  };
  const copy = useMutation({ mutationFn: (t: TaskSummary) => api.copyTask(t.id, null), onSettled: changed });
  const pick = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const onRow = (t: TaskSummary) => (e: MouseEvent) => {
    if (!onRowControl(e.target)) edit(t.id);
  };
  return (
    <div className="tasks-panel" role="region" aria-label={`Authentication tasks of ${connector.name}`}>
      {(tasks.error ?? copy.error) && <div className="banner error">{errorMessage(tasks.error ?? copy.error)}</div>}
      <div className="toolbar">
        <button type="button" onClick={() => edit(null)}>
          Create new task
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => setRemoving(all.filter((t) => selected.has(t.id)))}>
          Remove
        </button>
        <button type="button" onClick={changed}>
          Refresh
        </button>
      </div>
      <table className="grid" aria-label={`Authentication tasks of ${connector.name}`}>
        <thead>
          <tr>
            <th>
              <span className="sr-only">Select</span>
            </th>
            <th>Id</th>
            <th>Name</th>
            <th>Realm</th>
            <th>Enabled</th>
            <th>Last run</th>
            <th>Manage</th>
          </tr>
        </thead>
        <tbody>
          {all.map((t, i) => (
            <tr key={t.id} data-testid="auth-task-row" className={t.last_run ? (t.last_run.status === "succeeded" ? "ok" : "bad") : ""} onDoubleClick={onRow(t)}>
              <td>
                <input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.id)} onChange={() => pick(t.id)} />
              </td>
              <td className="mono">{t.id.slice(0, 8)}</td>
              <td className="task-name">{t.name}</td>
              <td>{realmOf(i) || <em>not set</em>}</td>
              <td>{t.enabled ? "Yes" : "No"}</td>
              <td>{t.last_run ? `${t.last_run.status}, ${when(t.last_run.started_at)}` : "not run yet"}</td>
              <td className="actions-inline">
                <button type="button" aria-label={`Edit ${t.name}`} onClick={() => edit(t.id)}>
                  Edit
                </button>
                <button type="button" aria-label={`Copy ${t.name}`} onClick={() => copy.mutate(t)}>
                  Copy
                </button>
                <button type="button" aria-label={`History of ${t.name}`} onClick={() => history(t.id, t.name)}>
                  History
                </button>
                <button type="button" aria-label={`Remove ${t.name}`} onClick={() => setRemoving([t])}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!tasks.isPending && all.length === 0 && <p className="empty">No authentication task yet: choose Create new task.</p>}
      {removing && (
        <RemoveAuthTasks
          tasks={removing}
          onDone={() => {
            setRemoving(null);
            setSelected(new Set());
            changed();
          }}
        />
      )}
    </div>
  );
}

function RemoveAuthTasks({ tasks, onDone }: { tasks: TaskSummary[]; onDone: () => void }) {
  const remove = useMutation({
    mutationFn: async () => {
      for (const t of tasks) await api.removeTask(t.id, false);
    },
    onSuccess: onDone,
  });
  return (
    <Confirm title="Remove authentication tasks" action="Remove" onCancel={onDone} onConfirm={() => remove.mutate()}>
      <p>These authentication tasks and their run history will be removed; the users they listed keep their cards until you remove them:</p>
      <ul>
        {tasks.map((t) => (
          <li key={t.id}>{t.name}</li>
        ))}
      </ul>
      {remove.error && <div className="banner error">{errorMessage(remove.error)}</div>}
    </Confirm>
  );
}

const EMPTY: AuthTaskInput = { name: "", realm: "", login_attribute: "uid", user_filter: null, group_dn: null, schedule: "0 */15 * * * *", enabled: true };


/** One authentication task: who may log in, to which realm, and a login test. */
function AuthTaskEditor({ connector, taskId, onClose }: { connector: ConnectorSummary; taskId: string | null; onClose: () => void }) {
  const client = useQueryClient();
  const existing = useQuery({
    queryKey: queryKeys.authTasks.one(taskId),
    queryFn: () => api.getAuthTask(taskId ?? ""),
    enabled: taskId !== null,
  });
  const [edits, setEdits] = useState<Partial<AuthTaskInput>>({});
  const draft: AuthTaskInput = { ...(existing.data ?? EMPTY), ...edits };
  const set = (patch: Partial<AuthTaskInput>) => setEdits((e) => ({ ...e, ...patch }));
  const save = useMutation({
    mutationFn: () => api.saveAuthTask(connector.id, taskId, draft),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: queryKeys.authTasks.all() });
      void client.invalidateQueries({ queryKey: queryKeys.authTasks.anyOne() });
      void client.invalidateQueries({ queryKey: connectorsQuery.queryKey });
      void client.invalidateQueries({ queryKey: queryKeys.engineStatus() });
      onClose();
    },
  });
  const noRealm = !draft.realm?.trim();
  return (
    <section aria-label="Authentication task">
      <h2>
        {taskId ? `Authentication task ${draft.name ?? ""}` : "New authentication task"} — {connector.name}
      </h2>
      {existing.error && <div className="banner error">{errorMessage(existing.error)}</div>}
      {taskId && noRealm && (
        <div className="banner warning" role="note">
          This task has no realm (a package never carries one). Set the realm, then enable the task.
        </div>
      )}
      <div className="form">
        <Field label="Name">
          <input aria-label="Name" value={draft.name ?? ""} disabled={taskId !== null} onChange={(e) => set({ name: e.target.value })} />
        </Field>
        <Field label="Realm" hint="the solution's login realm; set by hand in each environment">
          <input aria-label="Realm" value={draft.realm ?? ""} onChange={(e) => set({ realm: e.target.value })} />
        </Field>
        <Field label="Login attribute" hint="what users log in with: uid, sAMAccountName, mail">
          <input aria-label="Login attribute" value={draft.login_attribute ?? ""} onChange={(e) => set({ login_attribute: e.target.value })} />
        </Field>
        <Field label="User filter" hint="empty: the connector's user filter">
          <input aria-label="User filter" className="mono" value={draft.user_filter ?? ""} onChange={(e) => set({ user_filter: e.target.value || null })} />
        </Field>
        <Field label="Group DN" hint="empty: every user the filter selects; otherwise only this group's members">
          <input aria-label="Group DN" className="mono" value={draft.group_dn ?? ""} onChange={(e) => set({ group_dn: e.target.value || null })} />
        </Field>
        <Field label="Schedule" hint="cron, seconds first; default every 15 minutes">
          <input aria-label="Schedule" className="mono" value={draft.schedule ?? ""} onChange={(e) => set({ schedule: e.target.value })} />
        </Field>
        <label className="check">
          <input type="checkbox" aria-label="Enabled" checked={draft.enabled ?? !noRealm} onChange={(e) => set({ enabled: e.target.checked })} />
          <span>Enabled</span>
        </label>
      </div>
      {save.error && <div className="banner error">{errorMessage(save.error)}</div>}
      <div className="toolbar">
        <button type="button" className="primary" disabled={!draft.name?.trim() || save.isPending} onClick={() => save.mutate()}>
          Save
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
      {taskId && <LoginTest taskId={taskId} />}
    </section>
  );
}

/** Would the solution let this login in? The password is sent for one bind and not kept. */
function LoginTest({ taskId }: { taskId: string }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const test = useMutation({
    mutationFn: (): Promise<LoginVerdict> => api.testLogin(taskId, login, password),
    onSettled: () => setPassword(""),
  });
  return (
    <fieldset className="form" aria-label="Test a login">
      <legend>Test a login</legend>
      <Field label="Login">
        <input aria-label="Login" value={login} onChange={(e) => setLogin(e.target.value)} />
      </Field>
      <Field label="Password" hint="used for one bind, never stored or shown">
        <input aria-label="Password" type="password" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} />
      </Field>
      <div className="toolbar">
        <button type="button" disabled={!login.trim() || test.isPending} onClick={() => test.mutate()}>
          Test login
        </button>
      </div>
      {test.error && <div className="banner error">{errorMessage(test.error)}</div>}
      {test.data && (
        <div className={test.data.allowed ? "banner notice" : "banner warning"} role="status" data-testid="login-verdict">
          {test.data.allowed ? "Allowed" : "Denied"}: {test.data.reason}
          {test.data.dn ? ` (${test.data.dn})` : ""}
        </div>
      )}
    </fieldset>
  );
}
