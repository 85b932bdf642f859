// A stand-in for the Google Sheets API v4 as published (developers.google.com/sheets/api/reference/rest):
// spreadsheets.get (GET /v4/spreadsheets/{id}, properties and sheets), spreadsheets.values.batchGet (a tab's first
// row through an A1 range such as 'Leads'!1:1) and spreadsheets.values.append (USER_ENTERED: a leading apostrophe
// keeps text as text). A spreadsheet the signed-in account was not given answers 403 PERMISSION_DENIED, a missing one 404.
import type { GoogleHandler, GoogleOAuthStandIn } from "./google-oauth-stand-in.ts";

export interface StandInSpreadsheet {
  title: string;
  /** The accounts it is shared with. */
  sharedWith: string[];
  tabs: Map<string, string[][]>;
  /** What values.append was sent, before USER_ENTERED parsing. */
  appended: { range: string; values: unknown[][]; valueInputOption: string | null }[];
}

const error = (code: number, message: string, status: string) => Response.json({ error: { code, message, status } }, { status: code });

/** The tab an A1 range names ('My tab'!A1, Sheet1!1:1, or a bare cell meaning the first tab). */
function tabOf(range: string, sheet: StandInSpreadsheet): string | null {
  const bang = range.lastIndexOf("!");
  if (bang < 0) return [...sheet.tabs.keys()][0] ?? null;
  const raw = range.slice(0, bang);
  const name = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("''", "'") : raw;
  return sheet.tabs.has(name) ? name : null;
}

export class GoogleSheetsStandIn implements GoogleHandler {
  readonly spreadsheets = new Map<string, StandInSpreadsheet>();

  constructor(private readonly oauth: GoogleOAuthStandIn) {}

  add(id: string, title: string, tabs: Record<string, string[][]>, sharedWith: string[]): StandInSpreadsheet {
    const sheet = { title, sharedWith, tabs: new Map(Object.entries(tabs)), appended: [] };
    this.spreadsheets.set(id, sheet);
    return sheet;
  }

  async handle(request: Request, url: URL): Promise<Response | null> {
    if (!url.pathname.startsWith("/v4/spreadsheets/")) return null;
    const grant = this.oauth.bearer(request);
    if (!grant) return error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED");
    const match = /^\/v4\/spreadsheets\/([^/]+?)(?:\/values(?::batchGet|\/(.+):append))?$/.exec(url.pathname);
    if (!match) return error(404, "Requested entity was not found.", "NOT_FOUND");
    const id = decodeURIComponent(match[1]!);
    const sheet = this.spreadsheets.get(id);
    if (!sheet) return error(404, "Requested entity was not found.", "NOT_FOUND");
    if (!sheet.sharedWith.includes(grant.email)) return error(403, "The caller does not have permission", "PERMISSION_DENIED");
    if (request.method === "GET" && url.pathname.endsWith("/values:batchGet")) {
      const valueRanges = url.searchParams.getAll("ranges").map((range) => {
        const tab = tabOf(range, sheet);
        const first = tab ? sheet.tabs.get(tab)![0] : undefined;
        return { range, majorDimension: "ROWS", ...(first?.length ? { values: [first] } : {}) };
      });
      return Response.json({ spreadsheetId: id, valueRanges });
    }
    if (request.method === "POST" && match[2]) {
      const range = decodeURIComponent(match[2]);
      const tab = tabOf(range, sheet);
      if (!tab) return error(400, `Unable to parse range: ${range}`, "INVALID_ARGUMENT");
      const body = (await request.json()) as { values?: unknown[][] };
      const valueInputOption = url.searchParams.get("valueInputOption");
      if (valueInputOption !== "USER_ENTERED" && valueInputOption !== "RAW") return error(400, "Invalid valueInputOption", "INVALID_ARGUMENT");
      sheet.appended.push({ range, values: body.values ?? [], valueInputOption });
      const rows = sheet.tabs.get(tab)!;
      for (const row of body.values ?? []) rows.push(row.map((v) => (valueInputOption === "USER_ENTERED" && typeof v === "string" && v.startsWith("'") ? v.slice(1) : String(v))));
      const n = rows.length;
      const width = body.values?.[0]?.length ?? 0;
      return Response.json({ spreadsheetId: id, tableRange: `'${tab}'!A1`, updates: { spreadsheetId: id, updatedRange: `'${tab}'!A${n}:${String.fromCharCode(64 + Math.max(width, 1))}${n}`, updatedRows: 1, updatedColumns: width, updatedCells: width } });
    }
    if (request.method === "GET") {
      return Response.json({ spreadsheetId: id, properties: { title: sheet.title, locale: "en_US" }, sheets: [...sheet.tabs.keys()].map((title, index) => ({ properties: { sheetId: index, title, index } })) });
    }
    return error(405, "Method not allowed", "INVALID_ARGUMENT");
  }
}
