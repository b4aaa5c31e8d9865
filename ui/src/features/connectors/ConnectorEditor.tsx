import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { Connector, ConnectorInput, ConnectorType } from "../../bindings";
import { TYPE_LABEL } from "../../format";
import { parseJsonc } from "./jsoncErrors";
import type { Open } from "../../navigation";
import { configurationKeys, invalidate, queryKeys } from "../../queryKeys";

const MASK = "********";

/** What a new connector's parameter block starts as, by type. */
const SKELETON: Record<ConnectorType, string> = {
  python_script: '{\n  // parameters the script reads, e.g. "base_url": "https://hr.example"\n}\n',
  hr_file: '{\n  // the HR manual\'s parameter block: file_path, data_type, run_type, limits, report codes…\n}\n',
  ldap: [
    "{",
    '  "url": "ldap://dc1.example.com:389",',
    '  "start_tls": true,',
    '  "bind_dn": "cn=reader,dc=example,dc=com",',
    "  // kept in the OS keyring, never in the database",
    '  "bind_password": "",',
    '  "base_dn": "dc=example,dc=com",',
    "  // openldap, active_directory or generic: decides how incremental reads find changes",
    '  "directory_kind": "openldap",',
    '  "page_size": 500',
    "}",
    "",
  ].join("\n"),
};

/** Create or edit a connector: type, script from the library, JSONC parameters, secrets, target. */
export function ConnectorEditor({ id, open }: { id: string | null; open: Open }) {
  const existing = useQuery({ queryKey: queryKeys.connectors.one(id), queryFn: () => api.getConnector(id ?? ""), enabled: id !== null });
  if (id !== null && !existing.data) {
    return existing.error ? <div className="banner error">{errorMessage(existing.error)}</div> : <p>Loading…</p>;
  }
  return <ConnectorForm id={id} existing={existing.data ?? null} open={open} />;
}

/**
 * "Test connection" of a saved directory connector, with its saved
 * parameters and keyring password: bound as whom, over what TLS, and how
 * many entries its filters match. Save first to test a changed block.
 */
function TestConnection({ id }: { id: string }) {
  const test = useMutation({ mutationFn: () => api.testConnector(id) });
  const counted = (n: number, capped: boolean) => (capped ? `at least ${n}` : String(n));
  return (
    <div className="toolbar" role="group" aria-label="Connection">
      <button type="button" disabled={test.isPending} onClick={() => test.mutate()}>
        Test connection
      </button>
      {test.isPending && <span className="note" role="status">Connecting…</span>}
      {test.error && <div className="banner error">{errorMessage(test.error)}</div>}
      {test.data && (
        <div className="banner notice" role="status" data-testid="connection-check">
          Connected to {test.data.url} (TLS: {test.data.tls}) as {test.data.bound_as}; base DN {test.data.base_dn} found; the user filter matches{" "}
          {counted(test.data.users, test.data.users_capped)} entries and the group filter {counted(test.data.groups, test.data.groups_capped)}.
          {test.data.certificate && (
            <div data-testid="server-certificate">
              Certificate {test.data.certificate.subject}, issued by {test.data.certificate.issuer}, expires {test.data.certificate.expires} (
              {test.data.certificate.days_left} days).
            </div>
          )}
          {test.data.warnings.map((w) => (
            <div key={w} className="note">
              Warning: {w}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function ConnectorForm({ id, existing, open }: { id: string | null; existing: Connector | null; open: Open }) {
  const client = useQueryClient();
  const scripts = useQuery({ queryKey: queryKeys.scripts.all(), queryFn: () => api.listScripts() });
  const targets = useQuery({ queryKey: queryKeys.targets(), queryFn: () => api.listTargets() });
  const [name, setName] = useState(existing?.name ?? "");
  const [type, setTypeState] = useState<ConnectorType>(existing?.type ?? "python_script");
  const [script, setScript] = useState(existing?.script ?? "");
  const [target, setTarget] = useState(existing?.target ?? "local");
  const [text, setText] = useState(existing ? JSON.stringify(existing.parameters, null, 2) : SKELETON.python_script);
  // A new connector's untouched block follows its type; one the user typed in stays.
  const setType = (next: ConnectorType) => {
    if (text === SKELETON[type]) setText(SKELETON[next]);
    setTypeState(next);
  };
  const [revealed, setRevealed] = useState<Record<string, string>>({});

  const parsed = useMemo(() => parseJsonc(text), [text]);
  const missing = [
    ...(name.trim() ? [] : ["Name"]),
    ...(type === "python_script" && !script ? ["Script"] : []),
  ];
  const scriptExists = type !== "python_script" || !script || (scripts.data ?? []).some((s) => s.name === script);
  const blocked = missing.length > 0 || parsed.errors.length > 0 || !scriptExists;

  // The engine says what the block holds that this connector will not use (webapi_* on the local store).
  const notes = useQuery({
    queryKey: queryKeys.connectors.parameterNotes(type, target, parsed.value),
    queryFn: () => api.connectorParameterNotes(type, (parsed.value ?? {}) as NonNullable<ConnectorInput["parameters"]>, target),
    enabled: parsed.errors.length === 0,
  });
  const save = useMutation({
    mutationFn: () => {
      const input: ConnectorInput = { name: name.trim(), type, parameters: (parsed.value ?? {}) as NonNullable<ConnectorInput["parameters"]>, target };
      if (type === "python_script") input.script = script;
      return api.saveConnector(id, input);
    },
    onSuccess: () => {
      void invalidate(client, ...configurationKeys());
      open({ kind: "overview" });
    },
  });
  const reveal = useMutation({
    mutationFn: (pointer: string) => api.revealSecret(id ?? "", pointer),
    onSuccess: (value: string, pointer: string) => setRevealed((r) => ({ ...r, [pointer]: value })),
  });

  const secretPointers = existing?.secret_parameters ?? [];
  const reason = blocked
    ? [
        ...missing.map((m) => `${m} is required`),
        ...(parsed.errors.length ? ["the parameters have errors"] : []),
        ...(!scriptExists ? [`script ${script} is not in the library`] : []),
      ].join("; ")
    : "";
  return (
    <section aria-label={id ? "Edit connector" : "New connector"} className="editor">
      <div className="editor-bar">
        <button type="button" onClick={() => open({ kind: "overview" })}>
          ← Overview
        </button>
        <h2>{id ? `Connector ${existing?.name ?? ""}` : "New connector"}</h2>
        <button type="button" className="primary" disabled={blocked || save.isPending} title={reason} onClick={() => save.mutate()}>
          Save
        </button>
      </div>
      {save.error && <div className="banner error" role="alert">{errorMessage(save.error)}</div>}
      {id && existing?.type === "ldap" && <TestConnection id={id} />}
      {blocked && (
        <ul className="missing" aria-label="What Save needs">
          {reason.split("; ").map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      <div className="form">
        <label>
          <span>Name</span>
          <input aria-label="Name" value={name} disabled={id !== null} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          <span>Type</span>
          <select aria-label="Type" value={type} disabled={id !== null} onChange={(e) => setType(e.target.value as ConnectorType)}>
            {(Object.keys(TYPE_LABEL) as ConnectorType[]).map((t) => (
              <option key={t} value={t}>
                {TYPE_LABEL[t]}
              </option>
            ))}
          </select>
        </label>
        {type === "python_script" && (
          <label>
            <span>Script</span>
            <select aria-label="Script" value={script} onChange={(e) => setScript(e.target.value)}>
              <option value="">Choose a script…</option>
              {(["scheduled", "event", "both"] as const).map((kind) => (
                <optgroup key={kind} label={`${kind} scripts`}>
                  {(scripts.data ?? [])
                    .filter((s) => s.kind === kind)
                    .map((s) => (
                      <option key={s.name} value={s.name}>
                        {s.name}
                        {s.bundled ? " (bundled)" : ""}
                      </option>
                    ))}
                </optgroup>
              ))}
            </select>
          </label>
        )}
        <label>
          <span>Target</span>
          <select aria-label="Target" value={target} onChange={(e) => setTarget(e.target.value)}>
            {(targets.data ?? [{ name: "local" }]).map((t) => (
              <option key={t.name} value={t.name}>
                {t.name === "local" ? "local (the datacard store on this machine)" : t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="wide">
          <span>Parameters</span>
          <textarea
            aria-label="Parameters"
            aria-invalid={parsed.errors.length > 0}
            aria-describedby="parameter-errors"
            className="code"
            rows={14}
            spellCheck={false}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <div id="parameter-errors" className="wide" data-testid="parameter-errors">
          {parsed.errors.map((e) => (
            <div key={`${e.line}:${e.column}`} className="note error">
              Line {e.line}, column {e.column}: {e.message}
            </div>
          ))}
          {(notes.data ?? []).map((n) => (
            <div key={n} className="note" role="note">
              Note: {n}
            </div>
          ))}
        </div>
        {secretPointers.length > 0 && (
          <div className="wide">
            <h3>Secret parameters (kept in the OS keyring)</h3>
            <table className="grid narrow">
              <tbody>
                {secretPointers.map((p) => (
                  <tr key={p}>
                    <td className="mono">{p}</td>
                    <td className="mono">{revealed[p] ?? MASK}</td>
                    <td>
                      <button type="button" aria-label={`Reveal ${p}`} onClick={() => reveal.mutate(p)}>
                        Reveal
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="hint">Leave a secret as {MASK} in the parameters to keep its stored value.</p>
            {reveal.error && <div className="banner error">{errorMessage(reveal.error)}</div>}
          </div>
        )}
      </div>
    </section>
  );
}
