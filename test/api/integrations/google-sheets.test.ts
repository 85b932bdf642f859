// Google Sheets over the Sheets API v4 stand-in: looking a spreadsheet up by URL or id (title, tabs, header rows;
// 404 sheet_not_accessible, 409 integration_not_connected) and the append_row action logging a lead in a conversation.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { connectOverHttp, startGoogle } from "../../integrations/google/support.ts";

let g: Awaited<ReturnType<typeof startGoogle>>;
const SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_leads";

beforeAll(async () => {
  g = await startGoogle();
  g.sheets.add(SHEET_ID, "Cool Air leads", { Leads: [["Received", "Name", "Phone", "Notes"]], Archive: [] }, [g.oauth.email]);
  g.sheets.add("1ZzNotSharedWithTheAccount0000000000", "Someone else's", { Sheet1: [["A"]] }, ["someone@else.example"]);
});

afterAll(async () => {
  await g?.stop();
});

describe("google_sheets (Google Sheets v4 stand-in)", () => {
  it("answers 409 integration_not_connected before the account is connected", async () => {
    const { key } = await g.app.newOrg("Sheets, not connected");
    const res = await g.app.api("GET", `/api/v1/integrations/google_sheets/spreadsheet?ref=${SHEET_ID}`, { key });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("integration_not_connected");
  });

  it("looks a spreadsheet up by URL or id, and answers 404 sheet_not_accessible for one the account cannot read", async () => {
    const { key } = await g.app.newOrg("Sheets lookup");
    expect((await connectOverHttp(g.app, g.google.url, key, "google_sheets")).status).toBe(200);
    const url = `https://docs.google.com/spreadsheets/d/${SHEET_ID}/edit#gid=0`;
    const byUrl = await g.app.api("GET", `/api/v1/integrations/google_sheets/spreadsheet?ref=${encodeURIComponent(url)}`, { key });
    expect(byUrl.status).toBe(200);
    expect(byUrl.body.data).toEqual({ title: "Cool Air leads", tabs: [{ name: "Leads", headers: ["Received", "Name", "Phone", "Notes"] }, { name: "Archive", headers: [] }] });
    const byId = await g.app.api("GET", `/api/v1/integrations/google_sheets/spreadsheet?ref=${SHEET_ID}`, { key });
    expect(byId.body.data).toEqual(byUrl.body.data);

    for (const ref of ["1ZzNotSharedWithTheAccount0000000000", "1ThisSpreadsheetDoesNotExist000000", "not a sheet"]) {
      const res = await g.app.api("GET", `/api/v1/integrations/google_sheets/spreadsheet?ref=${encodeURIComponent(ref)}`, { key });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("sheet_not_accessible");
    }
    const wrongKind = await g.app.api("GET", `/api/v1/integrations/google_calendar/spreadsheet?ref=${SHEET_ID}`, { key });
    expect(wrongKind.status).toBe(404);
  });

  it("logs a caller's lead with append_row, its columns mapped in the skill's settings, formulas kept as text", async () => {
    const { key } = await g.app.newOrg("Sheets append");
    await connectOverHttp(g.app, g.google.url, key, "google_sheets");
    const b = agentBuilder(g.app, key);
    const agent = await b.agent({ name: "Lead line", greeting: "Hi! Leave your details and we'll call you back." });
    const [{ skill }] = (await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_sheets/provision`, { key, body: {} })).body.data;
    // spreadsheetId and columns are the operator's to give: until then the skill is disabled.
    expect(skill.isEnabled).toBe(false);
    const configured = await g.app.api("PATCH", `/api/v1/agents/${agent.id}/skills/${skill.id}`, {
      key,
      body: { isEnabled: true, requiresConfirmation: false, executionConfig: { ...skill.executionConfig, settings: { spreadsheetId: `https://docs.google.com/spreadsheets/d/${SHEET_ID}/edit`, sheet: "Leads", columns: ["{conversation_id}", "{caller_name}", "{caller_phone}", "{notes}"] } } },
    });
    expect(configured.status).toBe(200);

    const run = await b.simulate(agent.id, { transcript: ["Please log a row for a callback: my name is Dana Reyes, my number is 415 555 0100"] });
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ integration: "google_sheets", status: "ok" });
    const sheet = g.sheets.spreadsheets.get(SHEET_ID)!;
    const appended = sheet.appended.at(-1)!;
    expect(appended.valueInputOption).toBe("USER_ENTERED");
    expect(appended.range).toBe("'Leads'!A1");
    // The phone's leading + would make Sheets read a number (and = a formula): it is sent as text.
    expect(appended.values[0]).toEqual([run.events[0]!.conversationId, "Dana Reyes", "'+14155550100", ""]);
    expect(sheet.tabs.get("Leads")!.at(-1)).toEqual([run.events[0]!.conversationId, "Dana Reyes", "+14155550100", ""]);
  });
});
