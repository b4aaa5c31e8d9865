import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { SettingsForm } from "./SettingsTab";
import type { SettingRow } from "../../bindings";

const rows: SettingRow[] = [
  { key: { name: "environment_type", label: "Environment type", type: "environment_type", default: "not set", description: "prod, test, demo or dev" }, value: "test" },
  { key: { name: "workers", label: "Workers", type: "workers", default: "4", description: "Task runs at the same time" }, value: "4" },
  { key: { name: "python", label: "Python interpreter", type: "text", default: "python3", description: "A command or path" }, value: "python3" },
  { key: { name: "log_level", label: "Log level", type: "log_level", default: "info", description: "How much the engine logs" }, value: "info" },
];

describe("the settings form", () => {
  it("renders the engine's table, checks each field with the engine's rule as it is typed, and saves the changes together", async () => {
    const saved: unknown[] = [];
    renderWithEngine(<SettingsForm rows={rows} />, {
      check_setting: ({ name, value }) => (name === "workers" && Number(value) > 64 ? "workers takes a whole number from 1 to 64" : null),
      save_settings: ({ changes }) => {
        saved.push(changes);
        return rows.map((r) => ({ ...r }));
      },
    });
    expect(screen.getAllByTestId("setting-row").map((r) => r.firstChild?.textContent)).toEqual(["Environment type", "Workers", "Python interpreter", "Log level"]);
    const save = screen.getByRole("button", { name: "Save" });
    expect(save).toHaveProperty("disabled", true);
    const workers = screen.getByLabelText("Workers");
    fireEvent.change(workers, { target: { value: "100" } });
    await screen.findByText("workers takes a whole number from 1 to 64");
    expect(workers.getAttribute("aria-invalid")).toBe("true");
    expect(save).toHaveProperty("disabled", true);
    fireEvent.change(workers, { target: { value: "6" } });
    await waitFor(() => expect(screen.queryByText("workers takes a whole number from 1 to 64")).toBeNull());
    fireEvent.change(screen.getByLabelText("Log level"), { target: { value: "debug" } });
    await waitFor(() => expect(save).toHaveProperty("disabled", false));
    fireEvent.click(save);
    await waitFor(() => expect(saved).toEqual([[["workers", "6"], ["log_level", "debug"]]]));
    expect(await screen.findByText("Settings saved.")).toBeTruthy();
  });

  it("shows an on/off setting as a checkbox and saves it in the engine's words", async () => {
    const saved: unknown[] = [];
    const catchUp: SettingRow = {
      key: { name: "catch_up", label: "Catch up missed runs", type: "boolean", default: "false", description: "Run once each task that missed its time" },
      value: "false",
    };
    renderWithEngine(<SettingsForm rows={[...rows, catchUp]} />, {
      check_setting: () => null,
      save_settings: ({ changes }) => {
        saved.push(changes);
        return [...rows, { ...catchUp, value: "true" }];
      },
    });
    const box = screen.getByRole("checkbox", { name: "Catch up missed runs" });
    expect(box).toHaveProperty("checked", false);
    fireEvent.click(box);
    expect(box).toHaveProperty("checked", true);
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(saved).toEqual([[["catch_up", "true"]]]));
  });

  it("checks the Python interpreter as typed, before it is saved", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<SettingsForm rows={rows} />, {
      check_setting: () => null,
      check_python: ({ candidate }) => {
        asked.push(candidate);
        if (candidate === "python2") throw { code: "invalid_input", message: "cannot start 'python2': No such file or directory", remedy: null };
        return { interpreter: candidate, executable: "/usr/bin/python3.11", version: "3.11.2", supported: true };
      },
    });
    fireEvent.click(screen.getByRole("button", { name: "Check Python interpreter" }));
    expect((await screen.findByTestId("python-check")).textContent).toBe("Python 3.11.2 at /usr/bin/python3.11");
    fireEvent.change(screen.getByLabelText("Python interpreter"), { target: { value: "python2" } });
    fireEvent.click(screen.getByRole("button", { name: "Check Python interpreter" }));
    await waitFor(() => expect(screen.getByTestId("python-check").textContent).toBe("cannot start 'python2': No such file or directory"));
    expect(asked).toEqual(["python3", "python2"]);
  });
});
