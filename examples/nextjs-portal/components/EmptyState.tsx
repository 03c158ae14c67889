import type { ReactNode } from 'react';

/** The one look of "nothing here": a centred, muted line where a list or table would be. */
export function EmptyState({ children, testId, className }: { children: ReactNode; testId?: string; className?: string }) {
  return (
    <p className={className ? `${className} empty` : 'empty'} data-testid={testId}>
      {children}
    </p>
  );
}
