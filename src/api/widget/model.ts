// TypeBox shapes of the Widget tag and of the public widget chat surface, shared by routes and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

const ImageUrl = t.String({ maxLength: 2048, pattern: "^https?://\\S+$", description: "An http(s) image URL" });

export const WidgetTheme = t.Object({
  primaryColor: t.String({ pattern: "^#[0-9a-fA-F]{6}$", description: "#rrggbb: launcher, header and the visitor's bubbles" }),
  position: t.Union([t.Literal("bottom-right"), t.Literal("bottom-left")]),
  mode: t.Union([t.Literal("light"), t.Literal("dark"), t.Literal("auto")], { description: "auto follows the visitor's system setting" }),
  launcherIcon: t.Union([ImageUrl, t.Null()], { description: "Image shown in the launcher instead of the chat icon" }),
  avatarUrl: t.Union([ImageUrl, t.Null()], { description: "Image shown beside the panel's title" }),
});

export const WidgetCopy = t.Object({
  title: t.String({ minLength: 1, maxLength: 80 }),
  subtitle: t.String({ maxLength: 160 }),
  greeting: t.String({ maxLength: 500, description: "A welcome shown at the top of the open panel; the conversation itself opens with the agent's greeting" }),
  placeholder: t.String({ maxLength: 120 }),
  launcherLabel: t.String({ minLength: 1, maxLength: 80, description: "The launcher button's accessible name" }),
});

export const WidgetBehavior = t.Object({
  openOnLoad: t.Boolean({ description: "Open the panel by itself after autoOpenDelayMs (without taking focus)" }),
  autoOpenDelayMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
  showBranding: t.Boolean({ description: "Show “Powered by Flowyte” under the panel" }),
  persistConversation: t.Boolean({ description: "Keep the conversation across page loads in the tab (sessionStorage)" }),
});

export const WidgetConfig = t.Object({ theme: WidgetTheme, copy: WidgetCopy, behavior: WidgetBehavior }, { $id: "WidgetConfig" });
export type WidgetConfigDto = Static<typeof WidgetConfig>;

/** PUT body: a full replace, where anything left out takes its default (not its previous value). */
export const WidgetConfigInput = t.Object(
  {
    theme: t.Optional(t.Partial(WidgetTheme)),
    copy: t.Optional(t.Partial(WidgetCopy)),
    behavior: t.Optional(t.Partial(WidgetBehavior)),
  },
  { description: "The whole configuration; omitted fields take their defaults" },
);
export type WidgetConfigInputDto = Static<typeof WidgetConfigInput>;

export const WIDGET_DEFAULTS: WidgetConfigDto = {
  theme: { primaryColor: "#2563eb", position: "bottom-right", mode: "auto", launcherIcon: null, avatarUrl: null },
  copy: { title: "Chat with us", subtitle: "We answer right away", greeting: "", placeholder: "Type your message…", launcherLabel: "Open chat" },
  behavior: { openOnLoad: false, autoOpenDelayMs: 0, showBranding: true, persistConversation: true },
};

export const EmbedQuery = t.Object({
  publishableKeyId: t.Optional(t.String({ maxLength: 64, description: "Which key to embed; default the agent's oldest active key" })),
});

export const WidgetBootstrap = t.Object({
  agentId: t.String(),
  agentName: t.String(),
  widget: WidgetConfig,
  requireIdentityVerification: t.Boolean({ description: "Sessions need an identityToken" }),
}, { $id: "WidgetBootstrap" });

export const PublicQuery = t.Object({ key: t.Optional(t.String({ maxLength: 200, description: "The publishable key, when not sent as the bearer" })) });

export const WidgetSessionCreate = t.Object({
  turnstileToken: t.Optional(t.String({ maxLength: 4096, description: "Bot-check token; required when the server has a bot verifier" })),
  identityToken: t.Optional(
    t.String({ minLength: 1, maxLength: 4096, description: "The visitor's identity from the host site; required when the key has requireIdentityVerification" }),
  ),
});

export const WidgetMessage = t.Object({
  id: t.String(),
  role: t.Union([t.Literal("user"), t.Literal("assistant")]),
  content: t.String(),
  createdAt: t.String({ format: "date-time" }),
});
export type WidgetMessageDto = Static<typeof WidgetMessage>;

const SseTransport = t.Object(
  {
    kind: t.Literal("sse"),
    url: t.String({ description: "POST messages here; stream:true answers text/event-stream" }),
    token: t.String({ description: "The visitor token again" }),
  },
  { description: "Plain HTTP: POST each message, read the reply as SSE" },
);

export const WidgetSession = t.Object({
  conversationId: t.String(),
  visitorToken: t.String({ description: "Send it with every message of this conversation (visitorToken)" }),
  visitorTokenExpiresAt: t.String({ format: "date-time" }),
  transport: t.Object(
    {
      kind: t.Literal("realtime"),
      url: t.String({ description: "WebSocket URL (ws:// or wss://, from PUBLIC_BASE_URL); open it with ?key=<publishable key>&token=<token>" }),
      token: t.String({ description: "The visitor token again" }),
      fallback: SseTransport,
    },
    { description: "A WebSocket carrying messages and streamed replies (docs/widget.md), and the HTTP transport to use when it cannot open" },
  ),
  messages: t.Array(WidgetMessage, { description: "The agent's greeting" }),
}, { $id: "WidgetSession" });

export const VisitorToken = t.String({ minLength: 1, maxLength: 1024, description: "The session's visitorToken" });
export const SessionParams = t.Object({ conversationId: t.String({ maxLength: 64 }) });

export const MessageContent = t.String({ minLength: 1, maxLength: 4000, pattern: "\\S" });
export const ClientMessageId = t.String({
  minLength: 1,
  maxLength: 100,
  pattern: "^[A-Za-z0-9_-]+$",
  description:
    "The browser's own id for this message (e.g. a UUID), the same on every attempt: the turn runs once and finishes even if the connection drops; a repeat answers its reply (Idempotent-Replayed: true) for 24 h",
});

export const WidgetMessageSend = t.Object({
  content: MessageContent,
  stream: t.Optional(t.Boolean({ description: "true: text/event-stream (delta, message, done); default false", default: false })),
  visitorToken: VisitorToken,
  clientMessageId: t.Optional(ClientMessageId),
});

/** The query of the socket's upgrade request: browsers cannot set headers on a WebSocket. */
export const SocketQuery = t.Object({
  key: t.Optional(t.String({ maxLength: 200, description: "The publishable key, when not sent as the bearer" })),
  token: VisitorToken,
});

export const WidgetReply = t.Object({
  userMessage: WidgetMessage,
  messages: t.Array(WidgetMessage, { description: "What the agent said this turn" }),
  ended: t.Boolean({ description: "The agent closed the conversation; start a new session to go on" }),
}, { $id: "WidgetReply" });
export type WidgetReplyDto = Static<typeof WidgetReply>;

export const TranscriptQuery = t.Object({ visitorToken: VisitorToken, key: PublicQuery.properties.key });

export const WidgetTranscript = t.Object({
  conversationId: t.String(),
  status: t.Union([t.Literal("active"), t.Literal("ended")]),
  messages: t.Array(WidgetMessage, { description: "Oldest first; at most the last 200" }),
}, { $id: "WidgetTranscript" });
