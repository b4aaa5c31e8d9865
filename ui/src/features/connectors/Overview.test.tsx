import { useState } from "react";
import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { withWindowSize } from "../../test/layout";
import { Overview, type Opened } from "./Overview";

const connector = (id: string, name: string) => ({
  id, name, type: "python_script", script: "users.py", target: "local", scheduled_count: 1, event_count: 0, authentication_count: 0, supports_authentication: false, status: "ok",
});

/** The window's part: the opened connectors kept while the Overview gives way to another screen and comes back. */
function Window() {
  const opened: Opened = useState<ReadonlySet<string>>(new Set());
  const [elsewhere, setElsewhere] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setElsewhere((e) => !e)}>
        {elsewhere ? "Back" : "Away"}
      </button>
      {!elsewhere && <Overview open={() => {}} opened={opened} />}
    </>
  );
}

describe("the Overview", () => {
  withWindowSize();

  it("finds a connector still open when it comes back from another screen", async () => {
    renderWithEngine(<Window />, {
      list_connectors: () => [connector("c1", "HR users"), connector("c2", "Badges")],
      engine_status: () => ({ version: "0.1.0", data_dir: "/d", environment_type: "test", scheduler: null }),
      list_tasks: () => [],
    });
    fireEvent.click(await screen.findByRole("button", { name: "Tasks of HR users" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Tasks of HR users" }).getAttribute("aria-expanded")).toBe("true"));
    fireEvent.click(screen.getByRole("button", { name: "Away" }));
    expect(screen.queryByRole("button", { name: "Tasks of HR users" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Back" }));
    const hr = await screen.findByRole("button", { name: "Tasks of HR users" });
    expect(hr.getAttribute("aria-expanded")).toBe("true");
    expect(screen.getByRole("button", { name: "Tasks of Badges" }).getAttribute("aria-expanded")).toBe("false");
  });
});
