// `{param}` templating of operator settings with the values of one skill call: the call's arguments first,
// then the conversation variables. `{a.b}` reads a field of an object value; an unknown name becomes "".
const PLACEHOLDER = /\{([A-Za-z_][\w]*(?:\.[\w]+)*)\}/g;
const WHOLE = /^\{([A-Za-z_][\w]*(?:\.[\w]+)*)\}$/;

export type Lookup = (name: string) => unknown;

export function lookupIn(...sources: Readonly<Record<string, unknown>>[]): Lookup {
  return (name) => {
    const [head, ...rest] = name.split(".");
    for (const source of sources) {
      if (!Object.hasOwn(source, head!)) continue;
      return rest.reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), source[head!]);
    }
    return undefined;
  };
}

/**
 * A lookup that answers only the names a skill's dataEgressMap declares (`declared`; null = no map, anything goes)
 * and lists the others it was asked for in `refused`, so the executor can refuse the call rather than send a
 * request with holes (an empty `{id}` in a URL path can name a different resource).
 */
export function egressLookup(lookup: Lookup, declared: readonly string[] | null | undefined): { lookup: Lookup; refused: string[] } {
  const refused: string[] = [];
  if (!declared?.length) return { lookup, refused };
  return {
    refused,
    lookup: (name) => {
      const head = name.split(".")[0]!;
      if (declared.includes(head)) return lookup(name);
      if (!refused.includes(head)) refused.push(head);
      return undefined;
    },
  };
}

/** Fill every `{name}` in a string; `encode` escapes each substituted value (e.g. encodeURIComponent in a URL). */
export function fillTemplate(template: string, lookup: Lookup, encode: (value: string) => string = (v) => v): string {
  return template.replace(PLACEHOLDER, (_, name: string) => encode(asText(lookup(name))));
}

/**
 * Fill a JSON body template: strings are filled, and a string that is exactly one `{name}` takes the value
 * itself, so numbers, booleans and objects keep their JSON type.
 */
export function fillJson(template: unknown, lookup: Lookup): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    return whole ? (lookup(whole[1]!) ?? null) : fillTemplate(template, lookup);
  }
  if (Array.isArray(template)) return template.map((item) => fillJson(item, lookup));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillJson(value, lookup)]));
  }
  return template;
}

export function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

/** Header-safe: a value from a caller must never start a new header line. */
export const singleLine = (value: string) => value.replace(/[\r\n]+/g, " ");
