import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { ConnectorSummary, ExportSummary, FieldChange, ImportPlan, PlanAction } from "../../bindings";
import { Confirm } from "../../components/Confirm";
import { Modal } from "../../components/Modal";
import { chooseFileToOpen, chooseFileToSave } from "../../dialogs";
import { configurationKeys, invalidate, queryKeys, runKeys } from "../../queryKeys";
import { plural, when } from "../../format";

/** A rough guess at how hard the password is to guess: its length times the variety of characters. */
export function passwordStrength(password: string): { label: "too short" | "weak" | "fair" | "strong"; bits: number } {
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(password)) pool += 33;
  // Repeating one character adds little: count distinct characters, not length alone.
  const distinct = new Set(password).size;
  const bits = Math.round(Math.min(password.length, distinct * 2) * Math.log2(Math.max(pool, 1)));
  if (password.length === 0) return { label: "too short", bits };
  return { label: bits < 50 ? "weak" : bits < 80 ? "fair" : "strong", bits };
}

/** Export the selected connectors: a password entered twice, then where to save the package. */
export function ExportDialog({ connectors, onClose }: { connectors: ConnectorSummary[]; onClose: (done: ExportSummary | null) => void }) {
  const min = useQuery({ queryKey: queryKeys.packagePasswordMin(), queryFn: () => api.packagePasswordMinLength(), staleTime: Infinity });
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const minLength = min.data ?? 12;
  const strength = passwordStrength(password);
  const problem =
    password.length < minLength
      ? `At least ${minLength} characters (${password.length} so far).`
      : repeat !== password
        ? "The two passwords differ."
        : null;
  const exporting = useMutation({
    mutationFn: async () => {
      const to = await chooseFileToSave({ title: "Save the package", defaultPath: "provisio-package.zip", filters: [{ name: "Package", extensions: ["zip"] }] });
      if (to === null) return null;
      return api.exportPackage(to, password, connectors.map((c) => c.id));
    },
    onSuccess: (done) => {
      if (done) onClose(done);
    },
  });
  return (
    <Modal wide label="Export connectors">
      <p>
        {plural(connectors.length, "connector")} with their tasks, secrets and custom scripts, encrypted with the password:{" "}
        <strong>{connectors.map((c) => c.name).join(", ")}</strong>
      </p>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (problem === null) exporting.mutate();
        }}
      >
        <label>
          <span>Password</span>
          <input type="password" aria-label="Password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
        </label>
        <label>
          <span>Repeat password</span>
          <input type="password" aria-label="Repeat password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
        </label>
        <span className="note" data-testid="password-strength">
          Strength: <strong className={`strength ${strength.label.replace(" ", "-")}`}>{strength.label}</strong>
          {password.length > 0 && ` (about ${strength.bits} bits)`}
        </span>
        {problem && <span className="note error" role="status">{problem}</span>}
        {exporting.isPending && <span className="note" role="status">Writing the package…</span>}
        {exporting.error && <div className="banner error wide">{errorMessage(exporting.error)}</div>}
        <div className="actions wide">
          <button type="button" onClick={() => onClose(null)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={problem !== null || exporting.isPending}>
            Export…
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Import a package: choose the file, give its password, read the plan, then Apply (prod asks once more). */
export function ImportDialog({ path, prod, onClose }: { path: string; prod: boolean; onClose: (applied: ImportPlan | null) => void }) {
  const client = useQueryClient();
  const [password, setPassword] = useState("");
  const [confirming, setConfirming] = useState(false);
  const plan = useMutation({ mutationFn: () => api.importPlan(path, password) });
  const apply = useMutation({
    mutationFn: () => api.applyImport(path, password),
    onSuccess: (applied) => {
      void invalidate(client, ...configurationKeys(), ...runKeys());
      onClose(applied);
    },
  });
  return (
    <Modal wide label="Import a package">
      <p className="mono">{path}</p>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          plan.mutate();
        }}
      >
        <label>
          <span>Package password</span>
          <input type="password" aria-label="Package password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
        </label>
        <button type="submit" disabled={password.length === 0 || plan.isPending}>
          {plan.isPending ? "Reading…" : "Read package"}
        </button>
      </form>
      {plan.error && (
        <div className="banner error" role="alert" data-testid="import-refused">
          {errorMessage(plan.error)}
        </div>
      )}
      {plan.data && <PlanView plan={plan.data} />}
      {apply.isPending && <p role="status">Applying…</p>}
      {apply.error && <div className="banner error">{errorMessage(apply.error)}</div>}
      <div className="actions">
        <button type="button" onClick={() => onClose(null)}>
          Cancel
        </button>
        <button
          type="button"
          className="primary"
          disabled={!plan.data || apply.isPending}
          onClick={() => (prod ? setConfirming(true) : apply.mutate())}
        >
          Apply import
        </button>
      </div>
      {confirming && (
        <Confirm
          title="Import into production"
          action="Import"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            apply.mutate();
          }}
        >
          <p>This is a production installation. The plan above is applied to it at once.</p>
        </Confirm>
      )}
    </Modal>
  );
}

const ACTION_TEXT: Record<PlanAction, string> = { create: "create", merge: "merge", change: "change", unchanged: "unchanged" };

function value(v: FieldChange["from"]): string {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function Changes({ changes }: { changes: FieldChange[] }) {
  if (changes.length === 0) return null;
  return (
    <table className="grid plan-changes">
      <thead>
        <tr>
          <th>Field</th>
          <th>Now</th>
          <th>After import</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.field}>
            <td className="mono">{c.field}</td>
            <td className="mono">{value(c.from)}</td>
            <td className="mono">{value(c.to)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What an import will do, connector by connector and task by task, field by field. Nothing is applied yet. */
export function PlanView({ plan }: { plan: ImportPlan }) {
  const m = plan.manifest;
  return (
    <section aria-label="Import plan" className="plan">
      <p className="hint">
        Exported {when(m.exported_at)} from a {m.source_environment_type ?? "unset"} installation (Provisio {m.application_version}). Nothing is applied until you choose Apply import.
      </p>
      <ul className="plan-list">
        {plan.connectors.map((c) => (
          <li key={c.name} data-testid="plan-connector">
            <strong>{c.name}</strong>: <span className={`plan-action ${c.action}`}>{ACTION_TEXT[c.action]}</span>
            <Changes changes={c.changes} />
            <ul>
              {c.tasks.map((t) => (
                <li key={t.name} data-testid="plan-task">
                  Task {t.name}: <span className={`plan-action ${t.action}`}>{ACTION_TEXT[t.action]}</span>
                  {!t.enabled && " (arrives disabled)"}
                  <Changes changes={t.changes} />
                </li>
              ))}
            </ul>
          </li>
        ))}
        {plan.scripts.map((s) => (
          <li key={s.name} data-testid="plan-script">
            Script <span className="mono">{s.name}</span>: <span className={`plan-action ${s.action}`}>{ACTION_TEXT[s.action]}</span>
          </li>
        ))}
      </ul>
      {plan.notes.length > 0 && (
        <ul className="banner warning">
          {plan.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Asks for the package file, then shows the import dialog. */
export async function choosePackage(): Promise<string | null> {
  return chooseFileToOpen({ title: "Import a package", filters: [{ name: "Package", extensions: ["zip"] }] });
}
