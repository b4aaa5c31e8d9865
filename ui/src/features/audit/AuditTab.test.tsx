import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { AuditTab } from "./AuditTab";

const entry = (id: number, object: string, name: string, action: string, surface: string, changes: unknown[] = []) => ({
  id, at: "2026-12-05T07:00:00Z", os_user: "admin", surface, object, name, action, changes,
});

describe("the Audit tab", () => {
  it("shows who changed what and where, field by field, filtered by object and asked for by text and date", async () => {
    const asked: unknown[] = [];
    renderWithEngine(<AuditTab />, {
      list_audit: (args) => {
        asked.push(args);
        return [
          entry(2, "connector", "HR", "update", "window", [{ field: "parameters.base_url", from: "https://a", to: "https://b" }]),
          entry(1, "settings", "settings", "update", "cli", [{ field: "environment_type", from: null, to: "test" }]),
        ];
      },
    });
    await waitFor(() => expect(screen.getAllByTestId("audit-row").length).toBe(2));
    const first = screen.getAllByTestId("audit-row")[0]?.textContent ?? "";
    expect(first).toContain("Window");
    expect(first).toContain("parameters.base_url: https://a → https://b");
    fireEvent.change(screen.getByLabelText("Object"), { target: { value: "settings" } });
    expect(screen.getAllByTestId("audit-row").length).toBe(1);
    expect(screen.getAllByTestId("audit-row")[0]?.textContent).toContain("environment_type: — → test");
    fireEvent.change(screen.getByLabelText("Search the audit"), { target: { value: "HR" } });
    fireEvent.change(screen.getByLabelText("Since"), { target: { value: "2026-12-01" } });
    await waitFor(() => expect(asked).toContainEqual({ since: "2026-12-01", text: "HR", limit: 500 }));
  });

  it("keeps its filters when a person leaves the tab and comes back", async () => {
    const engine = { list_audit: () => [entry(1, "settings", "settings", "update", "cli")] };
    const first = renderWithEngine(<AuditTab />, engine);
    fireEvent.change(await screen.findByLabelText("Object"), { target: { value: "settings" } });
    fireEvent.change(screen.getByLabelText("Search the audit"), { target: { value: "environment" } });
    // Choosing another tab unmounts this one.
    first.unmount();
    renderWithEngine(<AuditTab />, engine);
    expect((await screen.findByLabelText<HTMLSelectElement>("Object")).value).toBe("settings");
    expect(screen.getByLabelText<HTMLInputElement>("Search the audit").value).toBe("environment");
  });
});
