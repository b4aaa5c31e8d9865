import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import hljs from "highlight.js/lib/core";
import python from "highlight.js/lib/languages/python";
import { api, errorMessage } from "../../api";
import type { Script, ScriptKind } from "../../bindings";
import { Confirm } from "../../components/Confirm";
import { chooseFileToOpen, chooseFileToSave } from "../../dialogs";
import { queryKeys } from "../../queryKeys";
import { count, when } from "../../format";

hljs.registerLanguage("python", python);

/** The script library: bundled and custom scripts; view, add, copy, replace, restore, remove, save a copy. */
export function ScriptsTab() {
  const client = useQueryClient();
  const scripts = useQuery({ queryKey: queryKeys.scripts.all(), queryFn: () => api.listScripts() });
  const [viewing, setViewing] = useState<string | null>(null);
  const [kind, setKind] = useState<ScriptKind>("scheduled");
  const [copyOf, setCopyOf] = useState<Script | null>(null);
  const [copyName, setCopyName] = useState("");
  const [removing, setRemoving] = useState<Script | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: queryKeys.scripts.all() });
  const add = useMutation({
    mutationFn: async () => {
      const chosen = await chooseFileToOpen({ title: "Add a Python script", filters: [{ name: "Python", extensions: ["py"] }] });
      if (chosen === null) return null;
      return api.addScript(chosen, kind, null);
    },
    onSuccess: (s) => {
      if (s) setNotice(`Added ${s.name}.`);
      void refresh();
    },
  });
  const copy = useMutation({
    mutationFn: () => api.copyScript(copyOf?.name ?? "", copyName.trim()),
    onSuccess: (s) => {
      setCopyOf(null);
      setViewing(s.name);
      setNotice(`Copied to ${s.name}.`);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (s: Script) => api.removeScript(s.name),
    onSuccess: (_, s) => {
      setNotice(`Removed ${s.name}.`);
      if (viewing === s.name) setViewing(null);
      void refresh();
    },
    onSettled: () => setRemoving(null),
  });
  const viewed = (scripts.data ?? []).find((s) => s.name === viewing) ?? null;
  const error = scripts.error ?? add.error ?? copy.error ?? remove.error;
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
      {notice && (
        <div className="banner notice" role="status">
          {notice}
        </div>
      )}
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
                  <button
                    type="button"
                    aria-label={`Copy ${s.name}`}
                    onClick={() => {
                      setCopyOf(s);
                      setCopyName(s.name.replace(/\.py$/, "_copy.py"));
                    }}
                  >
                    Copy
                  </button>
                  {!s.bundled && (
                    <button type="button" aria-label={`Remove ${s.name}`} onClick={() => setRemoving(s)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {viewed && <ScriptView key={viewed.name} script={viewed} onNotice={setNotice} />}
      </div>
      {copyOf && (
        <form
          className="form"
          aria-label="Copy script"
          onSubmit={(e) => {
            e.preventDefault();
            copy.mutate();
          }}
        >
          <h3>Copy {copyOf.name}</h3>
          <label>
            <span>New name</span>
            <input aria-label="New name" value={copyName} onChange={(e) => setCopyName(e.target.value)} />
          </label>
          <button type="submit" disabled={!copyName.trim() || copy.isPending}>
            Copy
          </button>
        </form>
      )}
      {removing && (
        <Confirm title="Remove script" action="Remove" onCancel={() => setRemoving(null)} onConfirm={() => remove.mutate(removing)}>
          <p>
            <span className="mono">{removing.name}</span> and its previous versions will be removed from the library. A script that a connector uses is not
            removed: the engine names the connectors instead.
          </p>
        </Confirm>
      )}
      {!scripts.isPending && (scripts.data ?? []).length === 0 && <p className="empty">The library is empty: choose Add script… to add a Python file.</p>}
    </section>
  );
}

/** A script's source, highlighted; custom ones can be replaced by a new version and restored. */
function ScriptView({ script, onNotice }: { script: Script; onNotice: (text: string) => void }) {
  const client = useQueryClient();
  const source = useQuery({ queryKey: queryKeys.scripts.source(script.name), queryFn: () => api.scriptSource(script.name) });
  const versions = useQuery({ queryKey: queryKeys.scripts.versions(script.name), queryFn: () => api.scriptVersions(script.name), enabled: !script.bundled });
  // highlight.js escapes the text it wraps in spans, so its HTML is safe to insert.
  const html = useMemo(() => (source.data === undefined ? null : hljs.highlight(source.data, { language: "python" }).value), [source.data]);
  const changed = () => {
    void client.invalidateQueries({ queryKey: queryKeys.scripts.source(script.name) });
    void client.invalidateQueries({ queryKey: queryKeys.scripts.versions(script.name) });
  };
  const replace = useMutation({
    mutationFn: async () => {
      const chosen = await chooseFileToOpen({ title: `Replace ${script.name} with a new version`, filters: [{ name: "Python", extensions: ["py"] }] });
      if (chosen === null) return null;
      return api.updateScript(script.name, chosen);
    },
    onSuccess: (s) => {
      if (s) onNotice(`Replaced ${s.name}; the previous version is kept below.`);
      changed();
    },
  });
  const restore = useMutation({
    mutationFn: (version: string) => api.restoreScript(script.name, version),
    onSuccess: (_, version) => {
      onNotice(`${script.name} is version ${version} again; the text it replaced is kept.`);
      changed();
    },
  });
  const saveCopy = useMutation({
    mutationFn: async () => {
      const to = await chooseFileToSave({ title: `Save a copy of ${script.name}`, defaultPath: script.name, filters: [{ name: "Python", extensions: ["py"] }] });
      if (to === null) return null;
      await api.saveScriptCopy(script.name, to);
      return to;
    },
    onSuccess: (to) => {
      if (to) onNotice(`Saved a copy of ${script.name} to ${to}.`);
    },
  });
  const error = source.error ?? versions.error ?? replace.error ?? restore.error ?? saveCopy.error;
  return (
    <aside className="card-detail script-view" aria-label={`Source of ${script.name}`}>
      <h3>
        {script.name} <span className="hint">{script.bundled ? "bundled, read-only" : "custom"}</span>
      </h3>
      <div className="actions-inline">
        {!script.bundled && (
          <button type="button" onClick={() => replace.mutate()} disabled={replace.isPending}>
            Replace with new version…
          </button>
        )}
        <button type="button" onClick={() => saveCopy.mutate()} disabled={saveCopy.isPending}>
          Save a copy…
        </button>
      </div>
      {error && <div className="banner error">{errorMessage(error)}</div>}
      {html === null ? (
        <pre className="log code">Loading…</pre>
      ) : (
        <pre className="log code" tabIndex={0} data-testid="script-source" dangerouslySetInnerHTML={{ __html: html }} />
      )}
      {!script.bundled && (
        <>
          <h4>Previous versions</h4>
          {(versions.data ?? []).length === 0 ? (
            <p className="empty">None yet: replacing the script keeps the text it replaces here.</p>
          ) : (
            <table className="grid" aria-label="Previous versions">
              <tbody>
                {(versions.data ?? []).map((v) => (
                  <tr key={v.id} data-testid="script-version">
                    <td>Replaced {when(v.replaced_at)}</td>
                    <td>{count(v.bytes)} bytes</td>
                    <td>
                      <button type="button" aria-label={`Restore version ${v.id}`} onClick={() => restore.mutate(v.id)} disabled={restore.isPending}>
                        Restore
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}
