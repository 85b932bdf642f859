// The in-browser voice test: `POST /agents/{id}/talk-token` mints short-lived credentials for a WebSocket
// (`GET /api/v1/talk/{room}?token=…`) that carries the browser's microphone into the same call session a phone call
// gets (voice/browser.ts). Tokens bind {organization, agent, draftMode, room}, are signed under a key derived from
// MASTER_KEY so any replica checks them, and open one call: the room is recorded in `talk_rooms` when it connects,
// so a second connection is refused on every replica, and the token stops working when it expires.
import { Type } from "@sinclair/typebox";
import { lt } from "drizzle-orm";
import { Elysia, t } from "elysia";
import { BROWSER_AUDIO, BrowserCall } from "../../../voice/browser.ts";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { optionalJsonBody } from "../../platform/http/body.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import { talkRooms } from "../../platform/db/schema/index.ts";
import { SignedTokens } from "../../platform/signed-token.ts";
import type { ApiContext } from "../context.ts";

/** How long a minted token can be used to connect (the call itself then runs to the agent's maximum length). */
export const TALK_TOKEN_TTL_MS = 5 * 60 * 1000;
export const TALK_TOKEN_PURPOSE = "flowyte/talk-token/v1";

interface TalkClaims extends Record<string, unknown> {
  o: string;
  a: string;
  d: boolean;
  r: string;
}

interface Socket {
  call: BrowserCall | null;
  closed: boolean;
}

export const TalkTokenBody = t.Object({
  draftMode: t.Optional(t.Boolean({ description: "true runs the draft (never billed); false (default) the published version", default: false })),
});

export const TalkToken = t.Object({
  url: t.String({ description: "WebSocket URL to open (ws:// or wss://, from PUBLIC_BASE_URL)" }),
  token: t.String({ description: "Pass as the `token` query parameter of `url`" }),
  room: t.String({ description: "The test call's room; one connection per token" }),
  expiresAt: t.String({ format: "date-time", description: "Connect before this instant" }),
  draftMode: t.Boolean(),
  audio: t.Object(
    {
      encoding: t.Literal("pcm_s16le"),
      sampleRate: Type.Integer(),
      channels: Type.Integer(),
      frameMs: Type.Integer(),
    },
    { description: "Binary messages both ways: 16-bit little-endian mono PCM at this rate; the agent's in 20 ms frames" },
  ),
}, { $id: "TalkToken" });

/** The talk-token endpoint and the WebSocket, and `stop()` to close the calls in progress when the server stops. */
export function createTalk(ctx: ApiContext) {
  const tokens = new SignedTokens<TalkClaims>(ctx.sealer.deriveKey(TALK_TOKEN_PURPOSE), "tt1");
  const wsBase = ctx.config.publicBaseUrl.replace(/^http/, "ws");
  /** Open sockets: the call once its agent version is compiled, and whether the browser left before that. */
  const sockets = new Map<string, Socket>();

  /** The claims of a token for `room` that has not opened a call yet; the room counts as used from here. */
  const claim = async (token: string | undefined, room: string): Promise<TalkClaims> => {
    const checked = tokens.verify(token ?? "");
    if (!checked.ok) {
      throw checked.reason === "expired"
        ? new Problem(401, "talk_token_expired", "this talk token has expired; mint a new one with POST /agents/{id}/talk-token")
        : new Problem(401, "invalid_talk_token", "pass the token from POST /agents/{id}/talk-token as ?token=");
    }
    if (checked.claims.r !== room) throw new Problem(401, "invalid_talk_token", "this talk token is for another room");
    const db = ctx.database.db;
    // Rows outlive their token only until the next claim: an expired token is refused before it gets here.
    await db.delete(talkRooms).where(lt(talkRooms.expiresAt, new Date()));
    const taken = await db
      .insert(talkRooms)
      .values({ room, organizationId: checked.claims.o, expiresAt: new Date(checked.claims.exp) })
      .onConflictDoNothing()
      .returning({ room: talkRooms.room });
    if (!taken.length) throw new Problem(409, "talk_token_used", "this talk token has already opened a call; mint a new one");
    return checked.claims;
  };

  const routes = new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .post(
      "/agents/:id/talk-token",
      async ({ params, body, set, ...c }) => {
        const principal = (c as unknown as { principal: Principal }).principal;
        if (!ctx.config.talkTokensForKeys) {
          throw new Problem(403, "dashboard_session_required", "talk tokens are minted by dashboard sessions only on this installation (TALK_TOKENS_FOR_KEYS=false)");
        }
        const draftMode = body.draftMode ?? false;
        await ctx.agents.compiledFor(principal.organizationId, params.id, draftMode); // 404, or 409 no_published_version
        const room = newId("room");
        const minted = tokens.issue({ o: principal.organizationId, a: params.id, d: draftMode, r: room }, TALK_TOKEN_TTL_MS);
        set.status = 201;
        return ok(
          { url: `${wsBase}/api/v1/talk/${room}`, token: minted.token, room, expiresAt: minted.expiresAt.toISOString(), draftMode, audio: { ...BROWSER_AUDIO } },
          "Talk token minted.",
        );
      },
      {
        scope: "agents:write",
        params: t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) }),
        body: TalkTokenBody,
        parse: optionalJsonBody as never,
        response: { 201: Envelope(TalkToken), ...problems(400, 403, 404, 409) },
        detail: {
          summary: "Start an in-browser voice test",
          description:
            "Short-lived credentials for a WebSocket that carries browser audio into a real call session: open `url?token=…` within 5 minutes. draftMode true runs the draft (never billed); false (default) the published version, 409 no_published_version when there is none. " +
            "The reference mints talk tokens for dashboard sessions only; this server has none yet, so secret keys with agents:write mint them, unless TALK_TOKENS_FOR_KEYS=false (403 dashboard_session_required).",
          tags: ["Test"],
        },
      },
    )
    // The same URL fetched without an upgrade: say what it is for.
    .get(
      "/talk/:room",
      () => {
        throw new Problem(426, "upgrade_required", "open this URL as a WebSocket, with the token from POST /agents/{id}/talk-token");
      },
      { detail: { hide: true } },
    )
    .ws("/talk/:room", {
      params: t.Object({ room: t.String({ maxLength: 64 }) }),
      query: t.Object({ token: t.Optional(t.String({ maxLength: 4096 })) }),
      detail: { hide: true },
      // Runs before the upgrade: a thrown problem answers the HTTP request (401, 409) and no socket opens.
      async resolve({ params, query }: { params: { room: string }; query: { token?: string } }) {
        return { talk: await claim(query.token, params.room) };
      },
      async open(ws) {
        const { talk } = ws.data as unknown as { talk: TalkClaims };
        const socket: Socket = { call: null, closed: false };
        sockets.set(ws.id, socket);
        try {
          const { compiled, versionId } = await ctx.agents.compiledFor(talk.o, talk.a, talk.d);
          if (socket.closed) return;
          socket.call = new BrowserCall(ws, {
            runtime: ctx.runtime,
            speech: ctx.speech,
            start: { organizationId: talk.o, agentId: talk.a, agentVersionId: versionId, draftMode: talk.d, compiled, source: "talk", metadata: { room: talk.r } },
            log: ctx.log,
            telemetry: ctx.telemetry,
          });
          await socket.call.run();
        } catch (error) {
          ctx.log.warn("an in-browser voice test could not start", { room: talk.r, error });
          const problem = error instanceof Problem ? error : null;
          ws.send(JSON.stringify({ type: "error", code: problem?.code ?? "internal_error", message: problem?.detail ?? "the call could not start" }));
          ws.close(1011, "could not start");
        } finally {
          sockets.delete(ws.id);
        }
      },
      message(ws, message) {
        sockets.get(ws.id)?.call?.receive(message);
      },
      close(ws) {
        const socket = sockets.get(ws.id);
        if (!socket) return;
        socket.closed = true;
        void socket.call?.hungUp();
      },
    });

  return {
    routes,
    /** Ends every call in progress (`server_stopping`) while storage is still open. */
    async stop() {
      await Promise.all([...sockets.values()].map((socket) => socket.call?.hungUp("server_stopping")));
    },
  };
}
