import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../test/render";
import { AlertsButton } from "./Alerts";

const alert = (id: number, severity: string, acknowledged: boolean) => ({
  id, created_at: "2026-12-04T01:00:00Z", task_id: "t1", run_id: "r1", task: `HR/Task ${id}`,
  status: "failed", message: "the script ended with exit code 1", acknowledged, severity,
});

describe("the alerts list", () => {
  it("counts unacknowledged critical alerts on the button, lists them, and acknowledges one", async () => {
    const alerts = [alert(3, "critical", false), alert(2, "critical", true), alert(1, "warning", false)];
    const acked: number[] = [];
    renderWithEngine(<AlertsButton />, {
      // A fresh list per call, as the IPC delivers.
      list_alerts: () => alerts.map((a) => ({ ...a })),
      acknowledge_alert: ({ id }) => {
        acked.push(id as number);
        alerts[0] = alert(3, "critical", true);
        return null;
      },
    });
    const button = screen.getByRole("button", { name: "Alerts" });
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("1"));
    expect(button.className).toContain("critical");
    fireEvent.click(button);
    const rows = await screen.findAllByTestId("alert-row");
    expect(rows.map((r) => r.textContent?.includes("Acknowledge"))).toEqual([true, false, true]);
    fireEvent.click(screen.getByRole("button", { name: "Acknowledge alert 3" }));
    await waitFor(() => expect(acked).toEqual([3]));
    await waitFor(() => expect(screen.getByTestId("alerts-count").textContent).toBe("0"));
  });
});
