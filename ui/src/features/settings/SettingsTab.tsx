import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { SettingKey, SettingRow } from "../../bindings";
import { TargetsSection } from "./TargetsSection";
import { TokensSection } from "./TokensSection";
import { queryKeys } from "../../queryKeys";

const CHOICES: Partial<Record<SettingKey["type"], string[]>> = {
  environment_type: ["prod", "test", "demo", "dev"],
  log_level: ["error", "warn", "info", "debug", "trace"],
};

/**
 * Every setting the engine defines, rendered from its table (label, type,
 * help text): this tab holds no list of its own. Each field is checked by the
 * engine's own rule as it is typed; Save applies the changes together.
 */
export function SettingsTab() {
  const rows = useQuery({ queryKey: queryKeys.settings(), queryFn: () => api.settingsView() });
  if (rows.error) return <div className="banner error">{errorMessage(rows.error)}</div>;
  if (!rows.data) return <p>Loading…</p>;
  return (
    <>
      <SettingsForm rows={rows.data} />
      <TargetsSection />
      <TokensSection />
    </>
  );
}

export function SettingsForm({ rows }: { rows: SettingRow[] }) {
  const client = useQueryClient();
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [problems, setProblems] = useState<Record<string, string | null>>({});
  const change = (name: string, value: string) => {
    setEdits((e) => ({ ...e, [name]: value }));
    void api.checkSetting(name, value).then((problem) => setProblems((p) => ({ ...p, [name]: problem })));
  };
  const changed = rows.filter((r) => edits[r.key.name] !== undefined && edits[r.key.name] !== shown(r));
  const invalid = changed.filter((r) => problems[r.key.name]);
  const save = useMutation({
    mutationFn: () => api.saveSettings(changed.map((r) => [r.key.name, edits[r.key.name] ?? ""] as [string, string])),
    onSuccess: (next) => {
      client.setQueryData(queryKeys.settings(), next);
      setEdits({});
      void client.invalidateQueries({ queryKey: queryKeys.engineStatus() });
    },
  });
  return (
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <form
        className="form"
        aria-label="Settings"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        {rows.map((r) => {
          const value = edits[r.key.name] ?? shown(r);
          const problem = edits[r.key.name] !== undefined ? problems[r.key.name] : null;
          const choices = CHOICES[r.key.type];
          const id = `setting-${r.key.name}`;
          return (
            <label key={r.key.name} data-testid="setting-row">
              <span title={r.key.description}>{r.key.label}</span>
              {r.key.type === "boolean" ? (
                // On or off: a checkbox, its value the engine's true / false (as `settings set` takes it).
                <input
                  id={id}
                  type="checkbox"
                  aria-label={r.key.label}
                  checked={value === "true"}
                  onChange={(e) => change(r.key.name, e.target.checked ? "true" : "false")}
                />
              ) : choices ? (
                <select id={id} aria-label={r.key.label} value={value} onChange={(e) => change(r.key.name, e.target.value)}>
                  {value === "" && <option value="">not set (no task runs until it is)</option>}
                  {choices.map((c) => (
                    <option key={c}>{c}</option>
                  ))}
                </select>
              ) : (
                <input id={id} aria-label={r.key.label} aria-invalid={problem ? true : undefined} value={value} onChange={(e) => change(r.key.name, e.target.value)} />
              )}
              <small className={problem ? "hint error" : "hint"}>{problem ?? r.key.description}</small>
              {r.key.name === "python" && <PythonCheck candidate={value} />}
            </label>
          );
        })}
        <button type="submit" className="primary" disabled={changed.length === 0 || invalid.length > 0 || save.isPending}>
          Save
        </button>
        {save.error && <div className="note error">{errorMessage(save.error)}</div>}
        {save.isSuccess && changed.length === 0 && <div className="note" role="status">Settings saved.</div>}
      </form>
    </section>
  );
}

/** The value as a field shows it ("not set" is an empty field). */
function shown(r: SettingRow): string {
  return r.value === "not set" ? "" : r.value;
}

/** Runs the interpreter as typed (saved or not) and shows its version, or why it does not start. */
function PythonCheck({ candidate }: { candidate: string }) {
  const check = useMutation({ mutationFn: () => api.checkPython(candidate.trim() || null) });
  return (
    <span className="python-check">
      <button type="button" aria-label="Check Python interpreter" onClick={() => check.mutate()} disabled={check.isPending}>
        {check.isPending ? "Checking…" : "Check"}
      </button>
      {check.data && (
        <span className={check.data.supported ? "note" : "note error"} role="status" data-testid="python-check">
          Python {check.data.version} at {check.data.executable}
          {!check.data.supported && ": the scripts need Python 3.8 or later"}
        </span>
      )}
      {check.error && (
        <span className="note error" role="status" data-testid="python-check">
          {errorMessage(check.error)}
        </span>
      )}
    </span>
  );
}
