import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import { configurationKeys, invalidate, queryKeys } from "../../queryKeys";
import type { TargetCheck } from "../../bindings";
import type { TargetInfo } from "../../bindings";
import type { TargetInput } from "../../bindings";
import { plural } from "../../format";

/** Where loads go: the local store and ESM solutions; add, test connection, remove. */
export function TargetsSection() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: queryKeys.targets(), queryFn: () => api.listTargets() });
  const targets: TargetInfo[] = list.data ?? [];
  const error = list.error ? errorMessage(list.error) : null;
  // What the last action on a target said, by target name.
  const [said, setSaid] = useState<Record<string, { ok: boolean; text: string }>>({});
  // Connectors name targets, and the editors list them: all of it shows the change.
  const refresh = () => void invalidate(client, ...configurationKeys());

  const tell = (name: string, ok: boolean, text: string) => setSaid((s) => ({ ...s, [name]: { ok, text } }));

  const test = (name: string) => {
    tell(name, true, "Testing…");
    api.testTarget(name).then(
      (c) => tell(name, true, `Logged in; ${counted(c)}`),
      (e: unknown) => tell(name, false, errorMessage(e)),
    );
  };

  const remove = (name: string) => {
    if (!window.confirm(`Remove target ${name}? Its password is removed from the keyring.`)) return;
    api.removeTarget(name).then(refresh, (e: unknown) => tell(name, false, errorMessage(e)));
  };

  return (
    <section aria-labelledby="targets-heading">
      <h2 id="targets-heading">Targets</h2>
      {error && <div className="banner error">{error}</div>}
      <table className="grid" data-testid="targets">
        <thead>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>Base URL</th>
            <th>User</th>
            <th>Manage</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.name} data-testid="target-row">
              <td>{t.name}</td>
              <td>{t.kind === "local" ? "local datacard store" : t.kind}</td>
              <td>{t.base_url ?? ""}</td>
              <td>{t.user ?? ""}</td>
              <td>
                <button type="button" onClick={() => test(t.name)} aria-label={`Test connection to ${t.name}`}>
                  Test connection
                </button>
                {t.kind !== "local" && (
                  <button type="button" onClick={() => remove(t.name)} aria-label={`Remove target ${t.name}`}>
                    Remove
                  </button>
                )}
                <Said said={said[t.name]} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <AddTarget onAdded={refresh} />
    </section>
  );
}

/** "3 templates, 1 folder": what a login read. */
function counted(c: TargetCheck): string {
  return `${plural(c.templates, "template")}, ${plural(c.folders, "folder")}`;
}

function Said({ said }: { said: { ok: boolean; text: string } | undefined }) {
  if (!said) return null;
  return (
    <span role="status" className={said.ok ? "note" : "note error"}>
      {said.text}
    </span>
  );
}

const FIELDS = [
  { key: "name", label: "Name", mandatory: true, type: "text" },
  { key: "base_url", label: "Base URL", mandatory: true, type: "url" },
  { key: "user", label: "User", mandatory: true, type: "text" },
  { key: "password", label: "Password", mandatory: true, type: "password" },
  { key: "batch_size", label: "Batch size", mandatory: false, type: "number" },
  { key: "requests_per_second", label: "Requests per second", mandatory: false, type: "number" },
  { key: "ca_file", label: "CA file", mandatory: false, type: "text" },
] as const;

type Key = (typeof FIELDS)[number]["key"];

const EMPTY: Record<Key, string> = {
  name: "",
  base_url: "",
  user: "",
  password: "",
  batch_size: "",
  requests_per_second: "",
  ca_file: "",
};

/** The ESM target form: Add is enabled once the mandatory fields are filled; the engine logs in before saving. */
function AddTarget({ onAdded }: { onAdded: () => void }) {
  const [values, setValues] = useState<Record<Key, string>>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const missing = FIELDS.filter((f) => f.mandatory && values[f.key].trim() === "").map((f) => f.label);

  const add = () => {
    setBusy(true);
    setResult(null);
    const input: TargetInput = {
      name: values.name,
      kind: "esm",
      base_url: values.base_url,
      user: values.user,
      password: values.password,
    };
    // Optional fields are left out when empty (the engine's defaults apply).
    if (values.batch_size.trim() !== "") input.batch_size = Number(values.batch_size);
    if (values.requests_per_second.trim() !== "") input.requests_per_second = Number(values.requests_per_second);
    if (values.ca_file.trim() !== "") input.ca_file = values.ca_file;
    api
      .addTarget(input)
      .then(
        (c) => {
          setResult({ ok: true, text: `Target ${c.name} added: ${counted(c)}` });
          setValues(EMPTY);
          onAdded();
        },
        (e: unknown) => setResult({ ok: false, text: errorMessage(e) }),
      )
      .finally(() => setBusy(false));
  };

  return (
    <form
      className="form"
      aria-label="Add ESM target"
      onSubmit={(e) => {
        e.preventDefault();
        if (missing.length === 0) add();
      }}
    >
      <h3>Add ESM target</h3>
      {FIELDS.map((f) => (
        <label key={f.key}>
          <span>
            {f.label}
            {f.mandatory ? " *" : ""}
          </span>
          <input
            name={f.key}
            type={f.type}
            value={values[f.key]}
            autoComplete={f.type === "password" ? "new-password" : "off"}
            onChange={(e) => setValues((v) => ({ ...v, [f.key]: e.target.value }))}
          />
        </label>
      ))}
      <button type="submit" disabled={busy || missing.length > 0} title={missing.length ? `Missing: ${missing.join(", ")}` : ""}>
        {busy ? "Logging in…" : "Add target"}
      </button>
      {missing.length > 0 && <p className="note">Missing: {missing.join(", ")}</p>}
      {result && (
        <p role="status" className={result.ok ? "note" : "note error"}>
          {result.text}
        </p>
      )}
    </form>
  );
}
