// A table that stays responsive at 10,000 rows and more: TanStack Table for
// columns, sorting-free filtering and row models; TanStack Virtual renders
// only the rows in view (expanded rows measure their own height). ARIA table
// roles keep it readable by screen readers; arrow keys move between rows.
import { useEffect, useRef, type KeyboardEvent, type ReactNode } from "react";
import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  useReactTable,
  type ColumnDef,
  type FilterFn,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";

/** `width`: the column's grid track; `wrap`: long text wraps onto more lines instead of being cut (rows measure their height). */
export type Column<T> = ColumnDef<T, unknown> & { meta?: { width?: string; wrap?: boolean } };

type Props<T> = {
  label: string;
  data: T[];
  columns: Column<T>[];
  rowId: (row: T) => string;
  filter?: string;
  height?: number;
  rowTestId?: string;
  rowClass?: (row: T) => string;
  renderExpanded?: (row: T) => ReactNode;
  onActivate?: (row: T) => void;
  empty?: ReactNode;
  /** Called while the rows in view are near the last one: a table read a page at a time asks for the next. */
  onNearEnd?: () => void;
};

/** How close (in rows) the view comes to the last row before `onNearEnd` is called. */
const NEAR_END = 100;

/** Whether an event started on a control inside a row: a double click there is the control's, not the row's. */
export function onRowControl(target: EventTarget): boolean {
  return target instanceof Element && target.closest("button, input, select, a, textarea") !== null;
}

/** Case-insensitive search over every column's text. */
const anyColumn: FilterFn<unknown> = (row, columnId, value: string) => {
  const v = row.getValue(columnId);
  return v !== null && v !== undefined && String(v).toLowerCase().includes(value.toLowerCase());
};

export function VirtualTable<T>(props: Props<T>) {
  const { data, columns, rowId, filter = "", height = 520 } = props;
  // TanStack Table hands out fresh functions each render; the React Compiler skips this component.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable<T>({
    data,
    columns,
    getRowId: (r) => rowId(r),
    state: { globalFilter: filter.trim() },
    globalFilterFn: anyColumn as FilterFn<T>,
    getCoreRowModel: getCoreRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
  });
  const rows = table.getRowModel().rows;
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    // Sizes are measured per row, not per position: a run added at the top
    // shifts every index, and keys by index would leave the shifted rows
    // unobserved at the size their old place had (a wrapped row was cut).
    getItemKey: (index) => rows[index]?.id ?? index,
    getScrollElement: () => scroller.current,
    estimateSize: () => 36,
    overscan: 12,
  });
  const template = columns.map((c) => c.meta?.width ?? "minmax(80px, 1fr)").join(" ");
  // TanStack Virtual's way to read on: watch the last row in view.
  const lastInView = virtual.getVirtualItems().at(-1)?.index ?? -1;
  const { onNearEnd } = props;
  useEffect(() => {
    if (onNearEnd && rows.length > 0 && lastInView >= rows.length - NEAR_END) onNearEnd();
  }, [onNearEnd, lastInView, rows.length]);

  const move = (e: KeyboardEvent<HTMLDivElement>, index: number) => {
    const to = e.key === "ArrowDown" ? index + 1 : e.key === "ArrowUp" ? index - 1 : -1;
    const original = rows[index]?.original;
    if (e.key === "Enter" && e.target === e.currentTarget && original !== undefined && props.onActivate) {
      props.onActivate(original);
      return;
    }
    if (to < 0 || to >= rows.length) return;
    e.preventDefault();
    virtual.scrollToIndex(to);
    requestAnimationFrame(() => scroller.current?.querySelector<HTMLElement>(`[data-index="${to}"] > [role=row]`)?.focus());
  };

  return (
    <div className="vtable" role="table" aria-label={props.label} aria-rowcount={rows.length + 1}>
      <div className="vrow vhead" role="row" style={{ gridTemplateColumns: template }}>
        {table.getFlatHeaders().map((h) => (
          <div key={h.id} role="columnheader" className="vcell">
            {flexRender(h.column.columnDef.header, h.getContext())}
          </div>
        ))}
      </div>
      <div ref={scroller} className="vbody" style={{ maxHeight: height }} role="rowgroup">
        <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {virtual.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            const extra = props.renderExpanded?.(row.original);
            return (
              <div
                key={row.id}
                data-index={item.index}
                ref={virtual.measureElement}
                className="vitem"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {/* The row takes the focus, not its wrapper: a focusable element without a role would stand between the rowgroup and its rows. */}
                <div
                  role="row"
                  aria-rowindex={item.index + 2}
                  className={`vrow ${props.rowClass?.(row.original) ?? ""}`}
                  data-testid={props.rowTestId}
                  style={{ gridTemplateColumns: template }}
                  tabIndex={item.index === 0 ? 0 : -1}
                  onKeyDown={(e) => move(e, item.index)}
                  onDoubleClick={(e) => {
                    if (!onRowControl(e.target)) props.onActivate?.(row.original);
                  }}
                >
                  {row.getVisibleCells().map((cell) => (
                    <div
                      key={cell.id}
                      role="cell"
                      className={(cell.column.columnDef as Column<T>).meta?.wrap ? "vcell wrap" : "vcell"}
                      title={cellTitle(cell.getValue())}
                    >
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </div>
                  ))}
                </div>
                {/* An expanded row's content is a row of its own, one cell across every column. */}
                {extra && (
                  <div role="row" className="vexpanded">
                    <div role="cell" aria-colspan={columns.length}>
                      {extra}
                    </div>
                  </div>
                )}
              </div>
            );
          })}
        </div>
      </div>
      {rows.length === 0 && props.empty && <div className="empty vempty">{props.empty}</div>}
    </div>
  );
}

/** A clipped cell's full text, as its tooltip. */
function cellTitle(v: unknown): string | undefined {
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}
