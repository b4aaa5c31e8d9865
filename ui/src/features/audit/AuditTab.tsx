import { useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { AuditEntry, AuditObject } from "../../bindings";
import { when } from "../../format";
import { queryKeys } from "../../queryKeys";
import { useRemembered } from "../../remembered";

const OBJECTS: [AuditObject, string][] = [
  ["connector", "Connectors"],
  ["task", "Tasks"],
  ["script", "Scripts"],
  ["settings", "Settings"],
  ["target", "Targets"],
  ["api_token", "API tokens"],
  ["template", "Templates"],
  ["package", "Imports"],
];

const SURFACE: Record<AuditEntry["surface"], string> = { window: "Window", cli: "CLI", workflow_api: "Workflow API" };

/** A change's value as a person reads it: text as is, anything else as JSON. */
function shown(v: unknown): string {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The audit of configuration changes: who changed what, from where, field by field (secrets masked). */
export function AuditTab() {
  const [object, setObject] = useRemembered<AuditObject | "">("audit.object", "");
  const [text, setText] = useRemembered("audit.text", "");
  const [since, setSince] = useRemembered("audit.since", "");
  const audit = useQuery({
    queryKey: queryKeys.audit(since, text.trim()),
    queryFn: () => api.listAudit(since || null, text.trim() || null, 500),
  });
  const entries = (audit.data ?? []).filter((e) => !object || e.object === object);
  return (
    <section aria-label="Audit">
      <h2>Audit of configuration changes</h2>
      <div className="toolbar">
        <label>
          Object{" "}
          <select aria-label="Object" value={object} onChange={(e) => setObject(e.target.value as AuditObject | "")}>
            <option value="">Everything</option>
            {OBJECTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <input type="search" aria-label="Search the audit" placeholder="Search names, actions and fields" value={text} onChange={(e) => setText(e.target.value)} />
        <label>
          Since <input type="date" aria-label="Since" value={since} onChange={(e) => setSince(e.target.value)} />
        </label>
        <button type="button" onClick={() => void audit.refetch()}>
          Refresh
        </button>
      </div>
      {audit.error && <div className="banner error">{errorMessage(audit.error)}</div>}
      <table className="grid" aria-label="Audit entries">
        <thead>
          <tr>
            <th>When</th>
            <th>User</th>
            <th>Where</th>
            <th>Object</th>
            <th>Name</th>
            <th>Action</th>
            <th>Changes</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id} data-testid="audit-row">
              <td>{when(e.at)}</td>
              <td>{e.os_user}</td>
              <td>{SURFACE[e.surface]}</td>
              <td>{e.object.replace("_", " ")}</td>
              <td>{e.name}</td>
              <td>{e.action}</td>
              <td>
                {e.changes.length === 0 ? (
                  "—"
                ) : (
                  <ul className="changes">
                    {e.changes.slice(0, 12).map((c) => (
                      <li key={c.field}>
                        <span className="mono">{c.field || "(whole)"}</span>: {shown(c.from)} → {shown(c.to)}
                      </li>
                    ))}
                    {e.changes.length > 12 && <li>… and {e.changes.length - 12} more</li>}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!audit.isPending && entries.length === 0 && <p className="empty">No recorded change matches.</p>}
    </section>
  );
}
