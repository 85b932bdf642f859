// Field-by-field comparison of two compiled configurations. Objects are compared key by key (dotted paths);
// arrays and scalars are compared whole, so a reordered list shows up as one change.
export interface Change {
  field: string;
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function diffValues(before: unknown, after: unknown, path = ""): Change[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const field = path ? `${path}.${k}` : k;
      if (!(k in before) || before[k] === undefined) return after[k] === undefined ? [] : [{ field, kind: "added" as const, after: after[k] }];
      if (!(k in after) || after[k] === undefined) return [{ field, kind: "removed" as const, before: before[k] }];
      return diffValues(before[k], after[k], field);
    });
  }
  return deepEqual(before, after) ? [] : [{ field: path, kind: "changed", before, after }];
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
