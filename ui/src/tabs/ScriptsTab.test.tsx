import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../test/render";
import { ScriptsTab } from "./ScriptsTab";

describe("the Scripts tab", () => {
  it("adds the file chosen in the native open dialog, with the kind chosen", async () => {
    const library = [{ name: "sample_users.py", kind: "scheduled", bundled: true, path: "/lib/sample_users.py" }];
    let asked: unknown = null;
    let added: unknown = null;
    renderWithEngine(<ScriptsTab />, {
      list_scripts: () => library,
      test_dialog_answer: () => null,
      "plugin:dialog|open": (args) => {
        asked = args;
        return "/home/me/payroll.py";
      },
      add_script: (args) => {
        added = args;
        const s = { name: "payroll.py", kind: "event", bundled: false, path: "/lib/payroll.py" };
        library.push(s);
        return s;
      },
    });
    expect((await screen.findAllByTestId("script-row")).length).toBe(1);
    expect(screen.getByText("bundled (read-only)")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Kind of the script to add"), { target: { value: "event" } });
    fireEvent.click(screen.getByRole("button", { name: "Add script…" }));
    await screen.findByText("Added payroll.py.");
    expect(added).toEqual({ path: "/home/me/payroll.py", kind: "event", name: null });
    expect(JSON.stringify(asked)).toContain('"extensions":["py"]');
    await waitFor(() => expect(screen.getAllByTestId("script-row").length).toBe(2));
  });
});
