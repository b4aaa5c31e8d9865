import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { Overview } from "../connectors/Overview";
import { passwordStrength } from "./Packages";

const connector = (id: string, name: string) => ({
  id, name, type: "python_script", script: "users.py", target: "local", scheduled_count: 1, event_count: 0, authentication_count: 0, supports_authentication: false, status: "ok",
});

const plan = {
  dry_run: true,
  manifest: { format_version: 1, application_version: "0.1.0", exported_at: "2026-12-04T01:00:00Z", source_environment_type: "test", items: [] },
  connectors: [
    { name: "HR users", action: "create", changes: [], tasks: [{ name: "Load", action: "create", changes: [], enabled: true }] },
    {
      name: "Badges",
      action: "merge",
      changes: [{ field: "parameters.url", from: "https://old.example", to: "https://new.example" }],
      tasks: [{ name: "Nightly", action: "change", changes: [{ field: "schedule", from: "0 0 1 * * *", to: "0 0 2 * * *" }], enabled: false }],
    },
  ],
  scripts: [{ name: "badges.py", action: "create" }],
  notes: ["imported tasks stay disabled in production"],
};

function engine(env: string, calls: { plan: unknown[]; apply: unknown[]; export: unknown[] }) {
  return {
    list_connectors: () => [connector("c1", "HR users"), connector("c2", "Badges"), connector("c3", "Other")],
    engine_status: () => ({ version: "0.1.0", data_dir: "/d", environment_type: env, scheduler: null }),
    package_password_min_length: () => 12,
    choose_file_to_open: () => "/packages/from-test.zip",
    choose_file_to_save: () => "/packages/out.zip",
    import_plan: (args: Record<string, unknown>) => {
      calls.plan.push(args);
      return structuredClone(plan);
    },
    apply_import: (args: Record<string, unknown>) => {
      calls.apply.push(args);
      return { ...structuredClone(plan), dry_run: false };
    },
    export_package: (args: Record<string, unknown>) => {
      calls.export.push(args);
      return { path: "/packages/out.zip", connectors: ["HR users", "Badges"], tasks: 2, scripts: [], bytes: 2048 };
    },
  };
}

describe("export and import", () => {
  it("shows the import plan field by field before anything is applied, then applies once", async () => {
    const calls = { plan: [] as unknown[], apply: [] as unknown[], export: [] as unknown[] };
    renderWithEngine(<Overview open={() => {}} />, engine("test", calls));
    fireEvent.click(await screen.findByRole("button", { name: "Import…" }));
    const dialog = await screen.findByRole("dialog", { name: "Import a package" });
    expect(within(dialog).getByText("/packages/from-test.zip")).toBeTruthy();
    expect(within(dialog).getByRole("button", { name: "Apply import" })).toHaveProperty("disabled", true);
    fireEvent.change(within(dialog).getByLabelText("Package password"), { target: { value: "correct horse battery" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Read package" }));

    const view = await within(dialog).findByRole("region", { name: "Import plan" });
    const rows = within(view).getAllByTestId("plan-connector").map((r) => r.textContent ?? "");
    expect(rows[0]).toContain("HR users: create");
    expect(rows[1]).toContain("Badges: merge");
    expect(rows[1]).toContain("parameters.urlhttps://old.examplehttps://new.example");
    expect(rows[1]).toContain("Task Nightly: change (arrives disabled)");
    expect(rows[1]).toContain("schedule0 0 1 * * *0 0 2 * * *");
    expect(within(view).getByTestId("plan-script").textContent).toBe("Script badges.py: create");
    expect(within(view).getByText("imported tasks stay disabled in production")).toBeTruthy();
    // When it was exported, in the computer's clock as the window's other times (not as the manifest writes it).
    const origin = within(dialog).getByText(/^Exported .* from a test installation/).textContent ?? "";
    expect(origin).toContain(new Date("2026-12-04T01:00:00Z").toLocaleString());
    expect(origin).not.toContain("T01:00:00Z");
    expect(calls.plan).toEqual([{ path: "/packages/from-test.zip", password: "correct horse battery" }]);
    expect(calls.apply).toEqual([]);

    fireEvent.click(within(dialog).getByRole("button", { name: "Apply import" }));
    await waitFor(() => expect(calls.apply).toHaveLength(1));
    expect(await screen.findByText("Imported HR users (create), Badges (merge).")).toBeTruthy();
    expect(screen.queryByRole("dialog", { name: "Import a package" })).toBeNull();
  });

  it("shows what the engine refuses, and asks once more before importing into production", async () => {
    const calls = { plan: [] as unknown[], apply: [] as unknown[], export: [] as unknown[] };
    const answers = engine("prod", calls);
    let refuse = true;
    renderWithEngine(<Overview open={() => {}} />, {
      ...answers,
      import_plan: (args) => {
        if (refuse) {
          refuse = false;
          throw { code: "invalid_input", message: "this installation lacks what the package needs; nothing was imported. Missing:\n  - template 'badge'", remedy: null };
        }
        return answers.import_plan(args);
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Import…" }));
    const dialog = await screen.findByRole("dialog", { name: "Import a package" });
    fireEvent.change(within(dialog).getByLabelText("Package password"), { target: { value: "correct horse battery" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Read package" }));
    expect((await within(dialog).findByTestId("import-refused")).textContent).toContain("template 'badge'");
    expect(within(dialog).getByRole("button", { name: "Apply import" })).toHaveProperty("disabled", true);

    fireEvent.click(within(dialog).getByRole("button", { name: "Read package" }));
    await within(dialog).findByRole("region", { name: "Import plan" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Apply import" }));
    const confirm = await screen.findByRole("dialog", { name: "Import into production" });
    fireEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(calls.apply).toEqual([]);
    fireEvent.click(within(dialog).getByRole("button", { name: "Apply import" }));
    fireEvent.click(within(await screen.findByRole("dialog", { name: "Import into production" })).getByRole("button", { name: "Import" }));
    await waitFor(() => expect(calls.apply).toHaveLength(1));
  });

  it("exports the selected connectors only with a password entered twice and long enough", async () => {
    const calls = { plan: [] as unknown[], apply: [] as unknown[], export: [] as unknown[] };
    // The table's rows are virtualized (jsdom lays nothing out), so select with the header's checkbox.
    renderWithEngine(<Overview open={() => {}} />, {
      ...engine("test", calls),
      list_connectors: () => [connector("c1", "HR users"), connector("c2", "Badges")],
    });
    const exportButton = await screen.findByRole("button", { name: "Export selected…" });
    expect(exportButton).toHaveProperty("disabled", true);
    await waitFor(() => expect(screen.getByRole("table", { name: "Connectors" }).getAttribute("aria-rowcount")).toBe("3"));
    fireEvent.click(screen.getByRole("checkbox", { name: "Select all connectors" }));
    fireEvent.click(exportButton);
    const dialog = await screen.findByRole("dialog", { name: "Export connectors" });
    const submit = within(dialog).getByRole("button", { name: "Export…" });
    fireEvent.change(within(dialog).getByLabelText("Password"), { target: { value: "short" } });
    expect(within(dialog).getByRole("status").textContent).toBe("At least 12 characters (5 so far).");
    expect(submit).toHaveProperty("disabled", true);
    fireEvent.change(within(dialog).getByLabelText("Password"), { target: { value: "Tr0ub4dor&3-horse" } });
    fireEvent.change(within(dialog).getByLabelText("Repeat password"), { target: { value: "Tr0ub4dor&3-hors" } });
    expect(within(dialog).getByRole("status").textContent).toBe("The two passwords differ.");
    fireEvent.change(within(dialog).getByLabelText("Repeat password"), { target: { value: "Tr0ub4dor&3-horse" } });
    expect(within(dialog).getByTestId("password-strength").textContent).toMatch(/^Strength: strong/);
    expect(submit).toHaveProperty("disabled", false);
    fireEvent.click(submit);
    await waitFor(() => expect(calls.export).toHaveLength(1));
    expect(calls.export[0]).toEqual({ path: "/packages/out.zip", password: "Tr0ub4dor&3-horse", connectorIds: ["c1", "c2"] });
    expect(await screen.findByText(/^Exported 2 connectors and 2 tasks to \/packages\/out.zip/)).toBeTruthy();
  });

  it("rates a repeated character as weak however long it is", () => {
    expect(passwordStrength("aaaaaaaaaaaaaaaaaaaa").label).toBe("weak");
    expect(passwordStrength("").label).toBe("too short");
    expect(passwordStrength("correct-Horse-7-battery").label).toBe("strong");
  });
});
