// A stand-in for the Google Calendar API v3 as published (developers.google.com/calendar/api/v3/reference):
// freebusy.query (POST /calendar/v3/freeBusy), events.insert (POST /calendar/v3/calendars/{calendarId}/events, a
// client-chosen id in base32hex, 409 "The requested identifier already exists." on a duplicate) and events.get.
// Busy times are the calendar's events plus any the test adds; every call needs a bearer token the OAuth stand-in issued.
import { randomBytes } from "node:crypto";
import type { GoogleHandler, GoogleOAuthStandIn } from "./google-oauth-stand-in.ts";

export interface StandInEvent {
  id: string;
  status: string;
  summary: string;
  description: string;
  start: { dateTime: string; timeZone?: string };
  end: { dateTime: string; timeZone?: string };
}

const error = (code: number, message: string, status: string, reason?: string) => Response.json({ error: { code, message, status, errors: [{ domain: "global", reason: reason ?? status.toLowerCase(), message }] } }, { status: code });
const EVENT_ID = /^[0-9a-v]{5,1024}$/;

export class GoogleCalendarStandIn implements GoogleHandler {
  readonly events = new Map<string, Map<string, StandInEvent>>();
  /** Extra busy intervals per calendar (another system's bookings). */
  readonly busy = new Map<string, { start: string; end: string }[]>();
  readonly insertAttempts: string[] = [];
  /** Every access token seen, in order (to tell a refreshed one from the first). */
  readonly tokensSeen: string[] = [];

  constructor(private readonly oauth: GoogleOAuthStandIn) {}

  calendar(id: string) {
    let events = this.events.get(id);
    if (!events) this.events.set(id, (events = new Map()));
    return events;
  }

  async handle(request: Request, url: URL): Promise<Response | null> {
    if (!url.pathname.startsWith("/calendar/v3/")) return null;
    this.tokensSeen.push(request.headers.get("authorization") ?? "");
    if (!this.oauth.bearer(request)) return error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED", "authError");
    if (request.method === "POST" && url.pathname === "/calendar/v3/freeBusy") return this.freeBusy((await request.json()) as Record<string, unknown>);
    const match = /^\/calendar\/v3\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(url.pathname);
    if (!match) return error(404, "Not Found", "NOT_FOUND", "notFound");
    const calendarId = decodeURIComponent(match[1]!);
    const events = this.calendar(calendarId);
    if (request.method === "GET" && match[2]) {
      const event = events.get(decodeURIComponent(match[2]));
      return event ? Response.json({ kind: "calendar#event", ...event }) : error(404, "Not Found", "NOT_FOUND", "notFound");
    }
    if (request.method === "POST" && !match[2]) {
      const body = (await request.json()) as Partial<StandInEvent>;
      const id = body.id ?? randomBytes(13).toString("hex");
      this.insertAttempts.push(id);
      if (!EVENT_ID.test(id)) return error(400, "Invalid resource id value.", "INVALID_ARGUMENT", "invalid");
      if (events.has(id)) return error(409, "The requested identifier already exists.", "ALREADY_EXISTS", "duplicate");
      if (!body.start?.dateTime || !body.end?.dateTime) return error(400, "Missing end time.", "INVALID_ARGUMENT", "required");
      const event: StandInEvent = { id, status: "confirmed", summary: body.summary ?? "", description: body.description ?? "", start: body.start, end: body.end };
      events.set(id, event);
      return Response.json({ kind: "calendar#event", htmlLink: `https://www.google.com/calendar/event?eid=${id}`, ...event });
    }
    return error(405, "Method not allowed", "INVALID_ARGUMENT");
  }

  private freeBusy(body: Record<string, unknown>): Response {
    const from = Date.parse(String(body.timeMin));
    const to = Date.parse(String(body.timeMax));
    if (Number.isNaN(from) || Number.isNaN(to)) return error(400, "Bad Request", "INVALID_ARGUMENT", "badRequest");
    const calendars: Record<string, unknown> = {};
    for (const { id } of (body.items ?? []) as { id: string }[]) {
      if (id !== "primary" && !this.events.has(id) && !this.busy.has(id)) {
        calendars[id] = { errors: [{ domain: "global", reason: "notFound" }], busy: [] };
        continue;
      }
      const intervals = [...(this.busy.get(id) ?? []), ...[...this.calendar(id).values()].filter((e) => e.status !== "cancelled").map((e) => ({ start: e.start.dateTime, end: e.end.dateTime }))]
        .filter((b) => Date.parse(b.end) > from && Date.parse(b.start) < to)
        .map((b) => ({ start: new Date(Date.parse(b.start)).toISOString(), end: new Date(Date.parse(b.end)).toISOString() }))
        .sort((a, b) => a.start.localeCompare(b.start));
      calendars[id] = { busy: intervals };
    }
    return Response.json({ kind: "calendar#freeBusy", timeMin: body.timeMin, timeMax: body.timeMax, calendars });
  }
}
