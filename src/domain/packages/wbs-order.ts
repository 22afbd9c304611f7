// WBS ids in the order people number them: 1.2 < 1.10 < 2.1, not as strings (1.10 < 1.2). Every list of
// packages or ids sorts with this one comparator.
const collator = new Intl.Collator("en", { numeric: true });

/** Compares two WBS ids part by part, numbers as numbers. */
export const compareWbs = (a: string, b: string): number => collator.compare(a, b);

/** Compares two things that carry a WBS id. */
export const byWbs = (a: { wbsId: string }, b: { wbsId: string }): number => compareWbs(a.wbsId, b.wbsId);
