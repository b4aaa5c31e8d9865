import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { withWindowSize } from "../../test/layout";
import { DataTab } from "./DataTab";

const card = (id: number, lastName: string, city: string) => ({
  id, template: "person", folder: "persons", updated_at: "2026-12-07T10:00:00Z", task: null,
  data: { employee_id: `e${id}`, last_name: lastName, a: "1", b: "2", c: "3", city },
});

/** The engine's side: the first cards without a search, the cards the engine found with one. */
function engine(asked: (string | null)[]) {
  return {
    list_templates: () => [{ code: "person", name: "Person", attributes: ["employee_id", "last_name", "a", "b", "c", "city"].map((code) => ({ code })) }],
    list_folders: () => [{ code: "persons", name: "Persons", templates: ["person"] }],
    list_tasks: () => [],
    list_datacards: ({ search }: Record<string, unknown>) => {
      asked.push(search as string | null);
      if (search === null) return [card(1, "Smith", "Oulu"), card(2, "Jones", "Turku")];
      // Found by a value the table has no column for (the sixth attribute).
      return search === "espoo" ? [card(150001, "Virtanen", "Espoo")] : [];
    },
  };
}

describe("the Data tab's search", () => {
  withWindowSize();

  it("asks the engine once the typing stops and shows what it found, not the first cards filtered", async () => {
    const asked: (string | null)[] = [];
    renderWithEngine(<DataTab />, engine(asked));
    await screen.findByRole("option", { name: "Person (person)" });
    fireEvent.change(screen.getByRole("combobox", { name: "Template" }), { target: { value: "person" } });
    expect(await screen.findByText("Smith")).toBeTruthy();
    const box = screen.getByRole("searchbox", { name: "Search datacards" });
    for (const typed of ["e", "es", "esp", "espo", "espoo"]) fireEvent.change(box, { target: { value: typed } });
    expect(await screen.findByText("Virtanen")).toBeTruthy();
    expect(screen.getByRole("status").textContent).toBe("1 card holds “espoo”.");
    expect(screen.queryByText("Smith")).toBeNull();
    expect(asked).toEqual([null, "espoo"]);

    fireEvent.change(box, { target: { value: "nobody" } });
    expect(await screen.findByText("No card of person has the id “nobody” or a value holding it.")).toBeTruthy();
    await waitFor(() => expect(asked).toEqual([null, "espoo", "nobody"]));
  });
});
