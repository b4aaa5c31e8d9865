import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import { renderWithEngine } from "../../test/render";
import { withWindowSize } from "../../test/layout";
import { DataTab } from "./DataTab";

/** A page of the tab in these tests (jsdom lays out no more than a few dozen rows). */
const PAGE = 20;

const card = (id: number, lastName: string, city: string) => ({
  id, template: "person", folder: "persons", updated_at: "2026-12-07T10:00:00Z", task: null,
  data: { employee_id: `e${id}`, last_name: lastName, a: "1", b: "2", c: "3", city },
});

type Asked = [string | null, number | null];

/** The engine's side: pages of cards in id order without a search, what it found with one. */
function engine(asked: Asked[]) {
  return {
    list_templates: () => [{ code: "person", name: "Person", attributes: ["employee_id", "last_name", "a", "b", "c", "city"].map((code) => ({ code })) }],
    list_folders: () => [{ code: "persons", name: "Persons", templates: ["person"] }],
    list_tasks: () => [],
    list_datacards: ({ search, after }: Record<string, unknown>) => {
      asked.push([search as string | null, after as number | null]);
      if (search === null && after === null) {
        return Array.from({ length: PAGE }, (_, i) => card(i + 1, i === 0 ? "Smith" : `N${i + 1}`, "Oulu"));
      }
      if (search === null) return [card(PAGE + 1, "Last of all", "Oulu")];
      // Found by a value the table has no column for (the sixth attribute).
      return search === "espoo" ? [card(150001, "Virtanen", "Espoo")] : [];
    },
  };
}

async function chooseTemplate() {
  await screen.findByRole("option", { name: "Person (person)" });
  fireEvent.change(screen.getByRole("combobox", { name: "Template" }), { target: { value: "person" } });
  expect(await screen.findByText("Smith")).toBeTruthy();
}

describe("the Data tab", () => {
  withWindowSize();

  it("searches in the engine once the typing stops and shows what it found, not the first cards filtered", async () => {
    const asked: Asked[] = [];
    renderWithEngine(<DataTab pageSize={PAGE} />, engine(asked));
    await chooseTemplate();
    const box = screen.getByRole("searchbox", { name: "Search datacards" });
    for (const typed of ["e", "es", "esp", "espo", "espoo"]) fireEvent.change(box, { target: { value: typed } });
    expect(await screen.findByText("Virtanen")).toBeTruthy();
    expect(screen.queryByText("Smith")).toBeNull();
    expect(screen.getByRole("status").textContent).toBe("1 card holds “espoo”.");
    // One search, for the text the typing stopped at.
    expect(asked.filter(([search]) => search !== null)).toEqual([["espoo", null]]);

    fireEvent.change(box, { target: { value: "nobody" } });
    expect(await screen.findByText("No card of person has the id “nobody” or a value holding it.")).toBeTruthy();
    await waitFor(() => expect(asked.at(-1)).toEqual(["nobody", null]));
  });

  it("reads the next page of cards when the view nears the last card it has, and no further than the last page", async () => {
    const asked: Asked[] = [];
    renderWithEngine(<DataTab pageSize={PAGE} />, engine(asked));
    await chooseTemplate();
    // Twenty rows: the view is near the last at once.
    await waitFor(() => expect(asked).toEqual([[null, null], [null, PAGE]]));
    expect(await screen.findByText("Last of all")).toBeTruthy();
    // A page shorter than a whole one was the last.
    await new Promise((done) => setTimeout(done, 100));
    expect(asked).toHaveLength(2);
  });
});
