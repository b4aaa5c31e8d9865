import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../api";
import type { Script, ScriptKind } from "../bindings";
import { chooseFileToOpen } from "../dialogs";

/** The script library: bundled and custom scripts, view, add from a file, copy to a new name. */
export function ScriptsTab() {
  const client = useQueryClient();
  const scripts = useQuery({ queryKey: ["scripts"], queryFn: () => api.listScripts() });
  const [viewing, setViewing] = useState<string | null>(null);
  const [kind, setKind] = useState<ScriptKind>("scheduled");
  const [copyOf, setCopyOf] = useState<Script | null>(null);
  const [copyName, setCopyName] = useState("");
  const source = useQuery({ queryKey: ["script-source", viewing], queryFn: () => api.scriptSource(viewing ?? ""), enabled: viewing !== null });
  const add = useMutation({
    mutationFn: async () => {
      const chosen = await chooseFileToOpen({ title: "Add a Python script", filters: [{ name: "Python", extensions: ["py"] }] });
      if (chosen === null) return null;
      return api.addScript(chosen, kind, null);
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ["scripts"] }),
  });
  const copy = useMutation({
    mutationFn: () => api.copyScript(copyOf?.name ?? "", copyName.trim()),
    onSuccess: (s) => {
      setCopyOf(null);
      setViewing(s.name);
      void client.invalidateQueries({ queryKey: ["scripts"] });
    },
  });
  const error = scripts.error ?? add.error ?? copy.error ?? source.error;
  return (
    <section aria-label="Scripts">
      <div className="toolbar">
        <label>
          Kind{" "}
          <select aria-label="Kind of the script to add" value={kind} onChange={(e) => setKind(e.target.value as ScriptKind)}>
            <option value="scheduled">scheduled</option>
            <option value="event">event</option>
            <option value="both">both</option>
          </select>
        </label>
        <button type="button" className="primary" onClick={() => add.mutate()} disabled={add.isPending}>
          Add script…
        </button>
        <button type="button" onClick={() => void scripts.refetch()}>
          Refresh
        </button>
      </div>
      {error && <div className="banner error">{errorMessage(error)}</div>}
      {add.data && <div className="banner notice">Added {add.data.name}.</div>}
      <div className="split">
        <table className="grid" aria-label="Script library">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Origin</th>
              <th>Manage</th>
            </tr>
          </thead>
          <tbody>
            {(scripts.data ?? []).map((s) => (
              <tr key={s.name} data-testid="script-row" className={viewing === s.name ? "selected" : ""}>
                <td className="mono">{s.name}</td>
                <td>{s.kind}</td>
                <td>{s.bundled ? "bundled (read-only)" : "custom"}</td>
                <td className="actions-inline">
                  <button type="button" aria-label={`View ${s.name}`} onClick={() => setViewing(s.name)}>
                    View
                  </button>
                  <button type="button" aria-label={`Copy ${s.name}`} onClick={() => { setCopyOf(s); setCopyName(s.name.replace(/\.py$/, "_copy.py")); }}>
                    Copy
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {viewing && (
          <aside className="card-detail script-view" aria-label={`Source of ${viewing}`}>
            <h3>{viewing}</h3>
            <pre className="log" tabIndex={0} data-testid="script-source">{source.data ?? "Loading…"}</pre>
          </aside>
        )}
      </div>
      {copyOf && (
        <form className="form" aria-label="Copy script" onSubmit={(e) => { e.preventDefault(); copy.mutate(); }}>
          <h3>Copy {copyOf.name}</h3>
          <label>
            <span>New name</span>
            <input aria-label="New name" value={copyName} onChange={(e) => setCopyName(e.target.value)} />
          </label>
          <button type="submit" disabled={!copyName.trim() || copy.isPending}>Copy</button>
        </form>
      )}
      {!scripts.isPending && (scripts.data ?? []).length === 0 && <p className="empty">The library is empty: choose Add script… to add a Python file.</p>}
    </section>
  );
}
