import { useState } from "react";

/**
 * Keyset pages only go forward: the server hands out the cursor of the next page. To go
 * back, remember the cursors of the pages already passed, newest last; the last one is the
 * page shown (`undefined` is the first page).
 */
export interface CursorPages {
  cursor: string | undefined;
  /** Back one page; undefined on the first page. */
  previous: (() => void) | undefined;
  /** Forward to the page `nextCursor` starts; undefined when there is none. */
  next: (nextCursor: string | null | undefined) => (() => void) | undefined;
  /** Back to the first page (a new filter, say). */
  reset: () => void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors.at(-1),
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
    next: (nextCursor) => (nextCursor ? () => setCursors([...cursors, nextCursor]) : undefined),
    reset: () => setCursors([undefined]),
  };
}

interface PagerProps {
  onPrevious: (() => void) | undefined;
  onNext: (() => void) | undefined;
  previousLabel?: string;
  nextLabel?: string;
}

/** The two buttons under a paged list; a direction without a page is disabled. */
export function Pager({ onPrevious, onNext, previousLabel = "Newer", nextLabel = "Older" }: PagerProps) {
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" className="secondary" disabled={!onPrevious} onClick={onPrevious}>
        {previousLabel}
      </button>
      <button type="button" className="secondary" disabled={!onNext} onClick={onNext}>
        {nextLabel}
      </button>
    </nav>
  );
}
