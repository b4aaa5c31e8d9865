import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { ConnectorEditor } from "./ConnectorEditor";

const engine = {
  list_scripts: () => [
    { name: "users.py", kind: "scheduled", bundled: false, path: "/x/users.py" },
    { name: "sample_event.py", kind: "event", bundled: true, path: "/x/sample_event.py" },
  ],
  list_targets: () => [{ name: "local", kind: "local", base_url: null, user: null, api_path: null, batch_size: null, requests_per_second: null }],
};

describe("the connector editor", () => {
  it("shows parameter errors at their line as the user types and keeps Save disabled until they are fixed", async () => {
    renderWithEngine(<ConnectorEditor id={null} open={() => {}} />, engine);
    const save = screen.getByRole("button", { name: "Save" });
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "HR users" } });
    await screen.findByRole("option", { name: "users.py" });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "users.py" } });
    const params = screen.getByLabelText("Parameters");
    fireEvent.change(params, { target: { value: '{\n  // pasted\n  "base_url": "https://hr.example",\n  "token" "x"\n}' } });
    expect(screen.getByTestId("parameter-errors").textContent).toMatch(/^Line 4, column 11: a colon \(:\) is expected/);
    expect(params.getAttribute("aria-invalid")).toBe("true");
    expect((save as HTMLButtonElement).disabled).toBe(true);
    // Comments and trailing commas are what users paste: accepted.
    fireEvent.change(params, { target: { value: '{\n  // pasted\n  "base_url": "https://hr.example",\n}' } });
    expect(screen.getByTestId("parameter-errors").textContent).toBe("");
    await waitFor(() => expect((save as HTMLButtonElement).disabled).toBe(false));
  });

  it("says under the parameters, in the engine's words, what the block holds that the connector will not use", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<ConnectorEditor id={null} open={() => {}} />, {
      ...engine,
      connector_parameter_notes: (args) => {
        asked.push(args);
        const { parameters } = args as { parameters: Record<string, unknown> };
        return "webapi_url" in parameters ? ["webapi_url is not used: this connector writes to the local datacard store"] : [];
      },
    });
    fireEvent.change(screen.getByLabelText("Type"), { target: { value: "hr_file" } });
    fireEvent.change(screen.getByLabelText("Parameters"), { target: { value: '{ "file_path": "in/*.csv", "webapi_url": "https://acme.example" }' } });
    expect((await screen.findByRole("note")).textContent).toBe("Note: webapi_url is not used: this connector writes to the local datacard store");
    expect(asked).toContainEqual({ connectorType: "hr_file", parameters: { file_path: "in/*.csv", webapi_url: "https://acme.example" }, target: "local" });
    fireEvent.change(screen.getByLabelText("Parameters"), { target: { value: '{ "file_path": "in/*.csv" }' } });
    await waitFor(() => expect(screen.queryByRole("note")).toBeNull());
  });

  it("names what Save needs, and refuses a script the library does not have", async () => {
    renderWithEngine(<ConnectorEditor id={null} open={() => {}} />, engine);
    const needs = screen.getByRole("list", { name: "What Save needs" });
    expect(needs.textContent).toContain("Name is required");
    expect(needs.textContent).toContain("Script is required");
    expect(screen.getByRole("button", { name: "Save" }).getAttribute("title")).toContain("Name is required");
  });

  it("sends the parameters parsed from JSONC and reports the engine's refusal", async () => {
    let sent: unknown = null;
    renderWithEngine(<ConnectorEditor id={null} open={() => {}} />, {
      ...engine,
      save_connector: (args) => {
        sent = args;
        throw { code: "already_exists", message: "connector 'HR users' already exists; choose another name", remedy: null };
      },
    });
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "HR users" } });
    await screen.findByRole("option", { name: "users.py" });
    fireEvent.change(screen.getByLabelText("Script"), { target: { value: "users.py" } });
    fireEvent.change(screen.getByLabelText("Parameters"), { target: { value: '{ "count": 3, /* c */ }' } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect((await screen.findByRole("alert")).textContent).toBe("connector 'HR users' already exists; choose another name");
    expect(sent).toEqual({
      reference: null,
      input: { name: "HR users", type: "python_script", parameters: { count: 3 }, target: "local", script: "users.py" },
    });
  });

  it("offers the directory connector with a parameter block to fill in, and a typed block survives a change of type", async () => {
    let sent: unknown = null;
    renderWithEngine(<ConnectorEditor id={null} open={() => {}} />, {
      ...engine,
      save_connector: (args) => {
        sent = args;
        return { id: "c9", name: "Directory", type: "ldap", script: null, parameters: {}, secret_parameters: ["/bind_password"], target: "local", created_at: "", updated_at: "" };
      },
    });
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Directory" } });
    fireEvent.change(screen.getByLabelText("Type"), { target: { value: "ldap" } });
    expect(screen.getByRole("option", { name: "Directory (LDAP / Active Directory)" })).toBeTruthy();
    expect(screen.queryByLabelText("Script")).toBeNull();
    const params = screen.getByLabelText("Parameters") as HTMLTextAreaElement;
    expect(params.value).toContain('"base_dn"');
    expect(params.value).toContain('"directory_kind": "openldap"');
    fireEvent.change(params, { target: { value: '{ "url": "ldap://127.0.0.1:3890", "base_dn": "dc=example,dc=com" }' } });
    fireEvent.change(screen.getByLabelText("Type"), { target: { value: "hr_file" } });
    fireEvent.change(screen.getByLabelText("Type"), { target: { value: "ldap" } });
    expect(params.value).toBe('{ "url": "ldap://127.0.0.1:3890", "base_dn": "dc=example,dc=com" }');
    const save = screen.getByRole("button", { name: "Save" }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    fireEvent.click(save);
    await waitFor(() =>
      expect(sent).toEqual({
        reference: null,
        input: { name: "Directory", type: "ldap", parameters: { url: "ldap://127.0.0.1:3890", base_dn: "dc=example,dc=com" }, target: "local" },
      }),
    );
  });
});
