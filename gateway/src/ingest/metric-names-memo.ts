/**
 * `find` for a reading's list of metric names, the last list found again by comparing it name by name: the readings of
 * a commit or a batch mostly share one list, and building the list's key (a join, its JSON) cost more than the rest.
 * `find` must answer the same for lists of the same names in the same order.
 */
export function lastNamesMemo<T>(find: (names: string[]) => T): (names: string[]) => T {
  let lastNames: string[] | null = null;
  let last = undefined as T;
  const isLast = (names: string[]): boolean => {
    if (lastNames === null || lastNames.length !== names.length) return false;
    for (let i = 0; i < names.length; i += 1) if (names[i] !== lastNames[i]) return false;
    return true;
  };
  return (names) => {
    if (isLast(names)) return last;
    last = find(names);
    lastNames = names;
    return last;
  };
}
