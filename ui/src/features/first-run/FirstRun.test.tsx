import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { FirstRun } from "./FirstRun";

describe("the first-run guide", () => {
  it("sets the environment type first, then creates the sample connector", async () => {
    const calls: [string, unknown][] = [];
    let done = false;
    let set = false;
    renderWithEngine(<FirstRun onEnvironmentSet={() => (set = true)} onDone={() => (done = true)} />, {
      save_settings: (args) => {
        calls.push(["save_settings", args]);
        return [];
      },
      save_connector: (args) => {
        calls.push(["save_connector", args]);
        return { id: "c1", name: "Sample users" };
      },
    });
    const next = screen.getByRole("button", { name: "Continue" });
    expect((next as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole("radio", { name: /^test/ }));
    fireEvent.click(next);
    await screen.findByRole("button", { name: "Create the sample connector" });
    expect(set).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "Create the sample connector" }));
    await waitFor(() => expect(done).toBe(true));
    expect(calls).toEqual([
      ["save_settings", { changes: [["environment_type", "test"]] }],
      ["save_connector", { reference: null, input: { name: "Sample users", type: "python_script", script: "sample_users.py", parameters: { count: 25 }, target: "local" } }],
    ]);
  });
});
