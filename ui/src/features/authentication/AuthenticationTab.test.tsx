import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { AuthenticationTab } from "./AuthenticationTab";
import type { ConnectorSummary } from "../../bindings";

const summary = (id: string, name: string, type: ConnectorSummary["type"], count: number): ConnectorSummary => ({
  id, name, type, script: null, target: "local", scheduled_count: 0, event_count: 0, authentication_count: count,
  supports_authentication: type === "ldap", status: "none",
});
const authTask = {
  id: "a1", connector_id: "d1", connector_name: "Directory", name: "Staff login", usage: "authentication", enabled: false,
  schedule: "0 */15 * * * *", timezone: "UTC", target_template: "auth_user", reference_count: 0, next_run: null, last_run: null,
};

describe("the Authentication tab", () => {
  it("lists only connectors that support authentication, asks for an imported task's realm and saves it", async () => {
    const saved: unknown[] = [];
    renderWithEngine(<AuthenticationTab onNewConnector={() => {}} onHistory={() => {}} />, {
      list_connectors: () => [summary("d1", "Directory", "ldap", 1), summary("h1", "HR", "hr_file", 0)],
      engine_status: () => ({ version: "0", data_dir: "/d", environment_type: "prod", scheduler: null, secure_access: "none" }),
      list_auth_tasks: () => [authTask],
      get_auth_task: () => ({ name: "Staff login", realm: "", login_attribute: "uid", group_dn: "cn=staff,dc=example,dc=com", enabled: false, schedule: "0 */15 * * * *" }),
      save_auth_task: (args) => {
        saved.push(args);
        return authTask;
      },
    });
    await waitFor(() => expect(screen.getAllByTestId("auth-connector-row").length).toBe(1));
    expect(screen.getByTestId("auth-count").textContent).toBe("1");
    // The manual's "Count", named for what it counts.
    expect(screen.getByRole("columnheader", { name: "Count of authentication tasks" })).toBeTruthy();
    expect(screen.queryByText("HR")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Show authentication tasks of Directory" }));
    await screen.findByRole("region", { name: "Authentication tasks of Directory" });
    await waitFor(() => expect(screen.getAllByTestId("auth-task-row")[0]?.textContent).toContain("not set"));
    fireEvent.click(screen.getByRole("button", { name: "Edit Staff login" }));
    await screen.findByText(/This task has no realm/);
    fireEvent.change(screen.getByLabelText("Realm"), { target: { value: "corp" } });
    fireEvent.click(screen.getByLabelText("Enabled"));
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved.length).toBe(1));
    expect(saved[0]).toMatchObject({ connector: "d1", reference: "a1", input: { realm: "corp", enabled: true, login_attribute: "uid" } });
  });

  it("tests a login and shows the verdict, clearing the password", async () => {
    const tested: unknown[] = [];
    renderWithEngine(<AuthenticationTab onNewConnector={() => {}} onHistory={() => {}} />, {
      list_connectors: () => [summary("d1", "Directory", "ldap", 1)],
      engine_status: () => ({ version: "0", data_dir: "/d", environment_type: "test", scheduler: null, secure_access: "ok" }),
      list_auth_tasks: () => [{ ...authTask, enabled: true }],
      get_auth_task: () => ({ name: "Staff login", realm: "corp", login_attribute: "uid", enabled: true, schedule: "0 */15 * * * *" }),
      test_login: (args) => {
        tested.push(args);
        return { allowed: false, reason: "the directory refused the password (invalid credentials)", dn: "uid=ann,dc=example,dc=com" };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Show authentication tasks of Directory" }));
    fireEvent.click(await screen.findByRole("button", { name: "Edit Staff login" }));
    fireEvent.change(await screen.findByLabelText("Login"), { target: { value: "ann" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "wrong-one" } });
    fireEvent.click(screen.getByRole("button", { name: "Test login" }));
    const verdict = await screen.findByTestId("login-verdict");
    expect(verdict.textContent).toContain("Denied: the directory refused the password");
    expect(tested).toEqual([{ reference: "a1", login: "ann", password: "wrong-one" }]);
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
  });
});
