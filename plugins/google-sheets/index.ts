// Google Sheets: log a row (Sheets API v4 values.append) with the columns the operator maps in the skill's settings,
// and look a spreadsheet up (title, tabs, each tab's header row) so those columns can be mapped to real ones.
import { type CompiledOperation, definePlugin, PluginError, type PluginContext, Type } from "../../src/api/integrations/contract.ts";
import { googleAuth, googleCall, googleFailure, listSetting } from "../google-common/google.ts";

const API = "https://sheets.googleapis.com/v4/spreadsheets";
const DEFAULT_COLUMNS = ["{timestamp}", "{caller_name}", "{caller_phone}", "{caller_email}", "{notes}"];

/** A spreadsheet id from a Sheets URL (…/spreadsheets/d/<id>/edit) or a bare id; null when it is neither. */
export function spreadsheetIdOf(ref: string): string | null {
  const trimmed = ref.trim();
  const fromUrl = /\/spreadsheets\/d\/([A-Za-z0-9_-]{10,})/.exec(trimmed);
  if (fromUrl) return fromUrl[1]!;
  return /^[A-Za-z0-9_-]{10,200}$/.test(trimmed) ? trimmed : null;
}

/**
 * A caller's value as a cell: USER_ENTERED parses what it is given as if typed, so a value starting with = + - @
 * would become a formula (or a number that loses its leading +); a leading apostrophe keeps it as the text it was.
 */
export function asCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const quoteTab = (name: string) => `'${name.replaceAll("'", "''")}'`;

export default definePlugin({
  kind: "google_sheets",
  name: "Google Sheets",
  category: "spreadsheet",
  version: "1.0.0",
  description: "Log leads, bookings and messages as rows of a Google Sheet.",
  skillType: "google_sheets",
  auth: googleAuth(["https://www.googleapis.com/auth/spreadsheets"]),
  actions: [
    {
      slug: "append_row",
      name: "Log a row",
      description: "Log a row: write the caller's details and request as a new row of the spreadsheet",
      isWrite: true,
      important: true,
      parameters: Type.Object({
        caller_name: Type.String({ description: "The caller's name" }),
        caller_phone: Type.Optional(Type.String({ description: "A phone number to reach the caller" })),
        caller_email: Type.Optional(Type.String({ format: "email", description: "The caller's email address" })),
        notes: Type.Optional(Type.String({ description: "What the caller wants, in a sentence" })),
      }),
      operatorConfig: [
        { name: "spreadsheetId", description: "The spreadsheet (a Sheets URL or its id; GET /integrations/google_sheets/spreadsheet checks it)", required: true },
        { name: "sheet", description: "The tab to append to (default: the first tab)", required: false },
        { name: "columns", description: 'One entry per column, left to right: text with {param} placeholders, e.g. ["{timestamp}", "{caller_name}", "{caller_phone}", "{notes}"] ({timestamp} and {conversation_id} are filled in too)', required: true },
      ],
      operation: "append",
    },
  ],
  async execute(operation, args, ctx) {
    if (operation.operation !== "append") throw new PluginError("invalid_binding", `google_sheets has no operation ${operation.operation}`);
    return append(settingsOf(operation), args, ctx);
  },
  async spreadsheet(ref, ctx) {
    const id = spreadsheetIdOf(ref);
    if (!id) throw new PluginError("not_found", "that is neither a Google Sheets URL nor a spreadsheet id");
    const meta = await googleCall(ctx, `${API}/${encodeURIComponent(id)}?fields=${encodeURIComponent("properties.title,sheets.properties.title")}`);
    // Google answers 404 for a spreadsheet that does not exist and 403 for one not shared with the account: to the
    // operator both mean the connected account cannot read it.
    if (meta.status === 404 || meta.status === 403) throw new PluginError("not_found", "the spreadsheet does not exist or is not shared with the connected Google account");
    if (meta.status !== 200) throw googleFailure(meta, "read the spreadsheet");
    const title = String((meta.body.properties as { title?: unknown } | undefined)?.title ?? "");
    const tabs = ((meta.body.sheets ?? []) as { properties?: { title?: unknown } }[]).map((s) => String(s.properties?.title ?? ""));
    if (!tabs.length) return { title, tabs: [] };
    const ranges = tabs.map((tab) => `ranges=${encodeURIComponent(`${quoteTab(tab)}!1:1`)}`).join("&");
    const headers = await googleCall(ctx, `${API}/${encodeURIComponent(id)}/values:batchGet?${ranges}&majorDimension=ROWS`);
    if (headers.status !== 200) throw googleFailure(headers, "read the spreadsheet's header rows");
    const valueRanges = (headers.body.valueRanges ?? []) as { values?: unknown[][] }[];
    return { title, tabs: tabs.map((name, i) => ({ name, headers: (valueRanges[i]?.values?.[0] ?? []).map(String) })) };
  },
});

const settingsOf = (operation: CompiledOperation) => (operation.settings && typeof operation.settings === "object" ? (operation.settings as Record<string, unknown>) : {});

async function append(settings: Record<string, unknown>, args: Record<string, unknown>, ctx: PluginContext) {
  const id = typeof settings.spreadsheetId === "string" ? spreadsheetIdOf(settings.spreadsheetId) : null;
  if (!id) throw new PluginError("invalid_binding", "the skill's settings.spreadsheetId is not a Google Sheets URL or id", ["settings.spreadsheetId"]);
  const columns = listSetting(settings.columns, DEFAULT_COLUMNS);
  const known: Record<string, string> = { timestamp: new Date().toISOString(), conversation_id: ctx.conversationId ?? "" };
  for (const [name, value] of Object.entries(args)) if (value !== undefined && value !== null) known[name] = String(value);
  // The operator's own text stays as written; only what the caller said is kept from turning into a formula.
  const row = columns.map((template) => template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => (name in args ? asCell(known[name] ?? "") : (known[name] ?? ""))));
  const range = `${typeof settings.sheet === "string" && settings.sheet ? quoteTab(settings.sheet) : "A1"}${typeof settings.sheet === "string" && settings.sheet ? "!A1" : ""}`;
  const answer = await googleCall(ctx, `${API}/${encodeURIComponent(id)}/values/${encodeURIComponent(range)}:append?valueInputOption=USER_ENTERED&insertDataOption=INSERT_ROWS`, {
    method: "POST",
    body: { range, majorDimension: "ROWS", values: [row] },
  });
  if (answer.status === 404 || answer.status === 403) throw new PluginError("refused", "the spreadsheet does not exist or the connected Google account cannot edit it");
  if (answer.status !== 200) throw googleFailure(answer, "log the row");
  const updates = (answer.body.updates ?? {}) as { updatedRange?: unknown };
  return { rows: [{ logged: true, range: String(updates.updatedRange ?? "") }] };
}
