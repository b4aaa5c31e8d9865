import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { ScriptsTab } from "./ScriptsTab";

describe("the Scripts tab", () => {
  it("adds the file chosen in the native open dialog, with the kind chosen", async () => {
    const library = [{ name: "sample_users.py", kind: "scheduled", bundled: true, path: "/lib/sample_users.py" }];
    let asked: unknown = null;
    let added: unknown = null;
    renderWithEngine(<ScriptsTab />, {
      list_scripts: () => library,
      choose_file_to_open: (args) => {
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

  it("highlights a custom script, replaces it keeping the previous version, restores it, and shows why it cannot be removed", async () => {
    let text = "import common_subroutines_efecte_library as sdk\n# version 1\n";
    const versions: { id: string; replaced_at: string; bytes: number }[] = [];
    const calls: string[] = [];
    renderWithEngine(<ScriptsTab />, {
      list_scripts: () => [{ name: "payroll.py", kind: "scheduled", bundled: false, path: "/lib/payroll.py" }],
      script_source: () => text,
      script_versions: () => versions.map((v) => ({ ...v })),
      choose_file_to_open: () => "/home/me/payroll-v2.py",
      update_script: ({ name, path }) => {
        calls.push(`update ${String(name)} ${String(path)}`);
        versions.unshift({ id: "20261204T010000000Z", replaced_at: "2026-12-04T01:00:00.000Z", bytes: text.length });
        text = "import common_subroutines_efecte_library as sdk\n# version 2\n";
        return { name, kind: "scheduled", bundled: false, path: "/lib/payroll.py" };
      },
      restore_script: ({ version }) => {
        calls.push(`restore ${String(version)}`);
        text = "import common_subroutines_efecte_library as sdk\n# version 1\n";
        return { name: "payroll.py", kind: "scheduled", bundled: false, path: "/lib/payroll.py" };
      },
      remove_script: () => {
        throw { code: "invalid_input", message: "'payroll.py' is used by a connector: Payroll export; point them at another script or remove them first", remedy: null };
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "View payroll.py" }));
    const source = await screen.findByTestId("script-source");
    await waitFor(() => expect(source.textContent).toContain("# version 1"));
    expect(source.querySelector(".hljs-keyword")?.textContent).toBe("import");
    expect(source.querySelector(".hljs-comment")?.textContent).toBe("# version 1");
    expect(screen.getByText(/None yet/)).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Replace with new version…" }));
    await waitFor(() => expect(screen.getByTestId("script-source").textContent).toContain("# version 2"));
    expect(calls).toEqual(["update payroll.py /home/me/payroll-v2.py"]);
    const row = await screen.findByTestId("script-version");
    expect(row.textContent).toContain(`Replaced ${new Date("2026-12-04T01:00:00.000Z").toLocaleString()}`);
    fireEvent.click(screen.getByRole("button", { name: "Restore version 20261204T010000000Z" }));
    await waitFor(() => expect(screen.getByTestId("script-source").textContent).toContain("# version 1"));
    expect(calls).toEqual(["update payroll.py /home/me/payroll-v2.py", "restore 20261204T010000000Z"]);

    fireEvent.click(screen.getByRole("button", { name: "Remove payroll.py" }));
    fireEvent.click(await screen.findByRole("button", { name: "Remove" }));
    expect(await screen.findByText(/used by a connector: Payroll export/)).toBeTruthy();
    expect(screen.getAllByTestId("script-row").length).toBe(1);
  });
});
