import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import { invalidate, queryKeys } from "../../queryKeys";
import type { ApiToken } from "../../bindings";
import type { NewApiToken } from "../../bindings";
import { when } from "../../format";

/**
 * Tokens of the workflow API: what workflow engines present. A new token is
 * shown once, here; only its hash is kept.
 */
export function TokensSection() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: queryKeys.apiTokens(), queryFn: () => api.listApiTokens() });
  const tokens: ApiToken[] = list.data ?? [];
  const [failed, setError] = useState<string | null>(null);
  const error = failed ?? (list.error ? errorMessage(list.error) : null);
  const [name, setName] = useState("");
  const [tasks, setTasks] = useState("");
  const [created, setCreated] = useState<NewApiToken | null>(null);

  // A token change is audited too.
  const refresh = () => void invalidate(client, queryKeys.apiTokens(), queryKeys.anyAudit());

  const create = () => {
    setError(null);
    const list = tasks
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== "");
    api.createApiToken(name.trim(), list).then(
      (t) => {
        setCreated(t);
        setName("");
        setTasks("");
        refresh();
      },
      (e: unknown) => setError(errorMessage(e)),
    );
  };

  const revoke = (token: string) => {
    if (!window.confirm(`Revoke token ${token}? Workflows using it get 401 from now on.`)) return;
    api.revokeApiToken(token).then(refresh, (e: unknown) => setError(errorMessage(e)));
  };

  return (
    <section aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">Workflow API tokens</h2>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <table className="grid" data-testid="tokens">
        <thead>
          <tr>
            <th>Name</th>
            <th>Tasks</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Manage</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.name} data-testid="token-row">
              <td>{t.name}</td>
              <td>{t.tasks ? t.tasks.join(", ") : "every task"}</td>
              <td>{when(t.created_at)}</td>
              <td>{t.last_used ? when(t.last_used) : "never"}</td>
              <td>
                <button type="button" onClick={() => revoke(t.name)} aria-label={`Revoke token ${t.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="form"
        aria-label="Create API token"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim() !== "") create();
        }}
      >
        <h3>Create API token</h3>
        <label>
          <span>Name *</span>
          <input name="token_name" value={name} autoComplete="off" onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          <span>Tasks (CONNECTOR/TASK, comma-separated; empty: every task)</span>
          <input name="token_tasks" value={tasks} autoComplete="off" onChange={(e) => setTasks(e.target.value)} />
        </label>
        <button type="submit" disabled={name.trim() === ""} title={name.trim() === "" ? "Missing: Name" : ""}>
          Create token
        </button>
      </form>
      {created && (
        <div className="banner notice" role="status" data-testid="new-token">
          Token <strong>{created.name}</strong> created. Copy it now; it is not shown again:
          <code className="secret">{created.token}</code>
        </div>
      )}
    </section>
  );
}
