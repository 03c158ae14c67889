import type { ReactNode } from 'react';
import { EmptyState } from './EmptyState';

/** One column: its header and how a row fills its cell. `num` right-aligns figures. */
export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  num?: boolean;
  /** Extra class of the body cells (e.g. `small`). */
  className?: string;
  /** A tooltip per cell. */
  title?: (row: T) => string;
}

/** `data-*` attributes a row carries for the e2e (outcome, state, kind, ids). */
export type RowData = Record<`data-${string}`, string | number | undefined>;

/**
 * The table markup of every list page, written once: a header row of `<th>`s, one `<tr>` per
 * row. With `empty`, no rows render that empty state instead of the table; with `emptyRow`,
 * the table stays and says so in one full-width row.
 */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  rowData,
  testId,
  empty,
  emptyRow,
}: {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T, index: number) => string | number;
  rowData?: (row: T) => RowData;
  testId?: string;
  empty?: { text: ReactNode; testId?: string };
  emptyRow?: ReactNode;
}) {
  if (rows.length === 0 && empty) return <EmptyState testId={empty.testId}>{empty.text}</EmptyState>;
  const cls = (c: Column<T>) => [c.num ? 'num' : '', c.className ?? ''].filter(Boolean).join(' ') || undefined;
  return (
    <table data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c, i) => (
            <th key={i} className={c.num ? 'num' : undefined}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && emptyRow ? (
          <tr>
            <td colSpan={columns.length} className="empty">
              {emptyRow}
            </td>
          </tr>
        ) : (
          rows.map((r, i) => (
            <tr key={rowKey(r, i)} {...rowData?.(r)}>
              {columns.map((c, j) => (
                <td key={j} className={cls(c)} title={c.title?.(r)}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}
