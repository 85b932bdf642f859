// A small typed ARI client: the REST operations the voice bridge uses (fetch, basic auth, typed errors) and the
// events WebSocket (events.ts). Written against Asterisk's published ARI description; see docs/voice-ari.md for
// why this instead of a client package.
import type { Logger } from "../../src/platform/log.ts";
import { AriEventStream, DEFAULT_RECONNECT, type ReconnectPolicy, type WaitOptions } from "./events.ts";
import type { Application, AsteriskInfo, Bridge, Channel, Playback, Variable } from "./types.ts";

export interface AriConnection {
  /** Asterisk's HTTP server, e.g. http://asterisk:8088 (a trailing /ari is accepted). */
  url: string;
  username: string;
  password: string;
  /** The Stasis application name the dialplan sends calls to. */
  app: string;
}

export interface AriClientOptions {
  log: Logger;
  reconnect?: Partial<ReconnectPolicy>;
  requestTimeoutMs?: number;
}

/** A REST call Asterisk refused or did not answer; `message` is ARI's own (e.g. "Channel not found"). */
export class AriError extends Error {
  override readonly name = "AriError";
  constructor(
    /** HTTP status, or 0 when Asterisk did not answer at all. */
    readonly status: number,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export type HangupReason = "normal" | "busy" | "congestion" | "no_answer" | "rejected" | "unallocated" | "failure";

export interface ExternalMediaParams {
  /** Where Asterisk sends the call's RTP: host:port of our media endpoint. */
  externalHost: string;
  format: "ulaw" | "alaw" | "slin16";
  channelId?: string;
  /** Becomes the channel's StasisStart args. */
  data?: string;
  variables?: Record<string, string>;
}

export interface OriginateParams {
  /** Dial string, e.g. PJSIP/+15551234567@trunk. */
  endpoint: string;
  appArgs?: string;
  /** "Name <number>" or a bare number. */
  callerId?: string;
  /** Seconds to wait for an answer. */
  timeout?: number;
  channelId?: string;
  variables?: Record<string, string>;
}

type Query = Record<string, string | number | boolean | undefined>;

// `media` goes in the JSON body: in the query ARI splits it at commas into several media, which cuts a tone
// such as tone:440+480/2000,0/4000 in two (seen on Asterisk 22). Several media go as a JSON array.

export class AriClient {
  readonly app: string;
  readonly events: AriEventStream;
  private readonly base: string;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;

  constructor(connection: AriConnection, options: AriClientOptions) {
    this.app = connection.app;
    this.base = connection.url.replace(/\/+$/, "").replace(/\/ari$/, "") + "/ari";
    this.authorization = "Basic " + Buffer.from(`${connection.username}:${connection.password}`).toString("base64");
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    const events = new URL(this.base.replace(/^http/, "ws") + "/events");
    events.searchParams.set("app", connection.app);
    events.searchParams.set("api_key", `${connection.username}:${connection.password}`);
    events.searchParams.set("subscribeAll", "false");
    this.events = new AriEventStream(events.href, { ...DEFAULT_RECONNECT, ...options.reconnect }, options.log);
  }

  connect(): Promise<void> {
    return this.events.start();
  }

  close(): Promise<void> {
    return this.events.stop();
  }

  readonly channels = {
    /** Every channel Asterisk has, of any application or none. */
    list: () => this.request<Channel[]>("GET", "/channels"),
    get: (channelId: string) => this.request<Channel>("GET", `/channels/${enc(channelId)}`),
    answer: (channelId: string) => this.request<void>("POST", `/channels/${enc(channelId)}/answer`),
    ring: (channelId: string) => this.request<void>("POST", `/channels/${enc(channelId)}/ring`),
    hangup: (channelId: string, reason: HangupReason = "normal") =>
      this.request<void>("DELETE", `/channels/${enc(channelId)}`, { reason }),
    /** Puts `media` (sound:…, tone:…, recording:…; several play one after another) on the channel; 201 with the Playback. */
    play: (channelId: string, media: string | string[], playbackId?: string) =>
      this.request<Playback>("POST", `/channels/${enc(channelId)}/play`, { playbackId }, { media }),
    /**
     * A channel variable or dialplan function, e.g. `CHANNEL(audionativeformat)` (the codecs the channel's own leg
     * carries, as Asterisk names them: "(g722|ulaw)"). 404 when the variable is not set.
     */
    getVariable: (channelId: string, variable: string) =>
      this.request<Variable>("GET", `/channels/${enc(channelId)}/variable`, { variable }),
    setVariable: (channelId: string, variable: string, value: string) =>
      this.request<void>("POST", `/channels/${enc(channelId)}/variable`, { variable, value }),
    /** Leaves Stasis and resumes the dialplan (at the given place, or where the channel was). */
    continueInDialplan: (channelId: string, to: { context?: string; extension?: string; priority?: number } = {}) =>
      this.request<void>("POST", `/channels/${enc(channelId)}/continue`, to),
    /** Redirects a channel that is not yet answered to another endpoint (a SIP 302 on PJSIP). */
    redirect: (channelId: string, endpoint: string) =>
      this.request<void>("POST", `/channels/${enc(channelId)}/redirect`, { endpoint }),
    /** The answer already carries UNICASTRTP_LOCAL_ADDRESS/PORT; its StasisStart may come after it. */
    externalMedia: (params: ExternalMediaParams) =>
      this.request<Channel>(
        "POST",
        "/channels/externalMedia",
        {
          app: this.app,
          external_host: params.externalHost,
          format: params.format,
          encapsulation: "rtp",
          transport: "udp",
          direction: "both",
          channelId: params.channelId,
          data: params.data,
        },
        params.variables && { variables: params.variables },
      ),
    /** Dials into this Stasis application: StasisStart when answered, ChannelDestroyed (with a cause) if not. */
    originate: (params: OriginateParams) =>
      this.request<Channel>(
        "POST",
        "/channels",
        {
          endpoint: params.endpoint,
          app: this.app,
          appArgs: params.appArgs,
          callerId: params.callerId,
          timeout: params.timeout,
          channelId: params.channelId,
        },
        params.variables && { variables: params.variables },
      ),
  };

  readonly bridges = {
    /** Every bridge Asterisk has, whoever made it. */
    list: () => this.request<Bridge[]>("GET", "/bridges"),
    create: (options: { bridgeId?: string; name?: string } = {}) =>
      this.request<Bridge>("POST", "/bridges", { type: "mixing", bridgeId: options.bridgeId, name: options.name }),
    addChannel: (bridgeId: string, channelIds: string[]) =>
      this.request<void>("POST", `/bridges/${enc(bridgeId)}/addChannel`, { channel: channelIds.join(",") }),
    removeChannel: (bridgeId: string, channelIds: string[]) =>
      this.request<void>("POST", `/bridges/${enc(bridgeId)}/removeChannel`, { channel: channelIds.join(",") }),
    destroy: (bridgeId: string) => this.request<void>("DELETE", `/bridges/${enc(bridgeId)}`),
    play: (bridgeId: string, media: string, playbackId?: string) =>
      this.request<Playback>("POST", `/bridges/${enc(bridgeId)}/play`, { playbackId }, { media }),
  };

  readonly playbacks = {
    stop: (playbackId: string) => this.request<void>("DELETE", `/playbacks/${enc(playbackId)}`),
  };

  readonly applications = {
    /** 404 while no events WebSocket is connected for it. */
    get: (name: string = this.app) => this.request<Application>("GET", `/applications/${enc(name)}`),
  };

  readonly asterisk = {
    info: () => this.request<AsteriskInfo>("GET", "/asterisk/info"),
  };

  /**
   * Resolves when `channelId` enters this application. Register it before the request that creates the channel.
   * After a reconnect the StasisStart may have been missed, so the channel is looked up once more then.
   */
  waitForStasisStart(channelId: string, options: WaitOptions): Promise<void> {
    const settled = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, settled.signal]) : settled.signal;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.events.waitFor("StasisStart", (e) => e.channel.id === channelId, { timeoutMs: options.timeoutMs, signal }).then(() => resolve(), reject);
    const offState = this.events.onState((state) => {
      if (state !== "open") return;
      this.channels.get(channelId).then(
        (channel) => channel.dialplan.app_name === "Stasis" && resolve(),
        () => {},
      );
    });
    return promise.finally(() => {
      offState();
      settled.abort();
    });
  }

  private async request<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const send = () =>
      fetch(url, {
        method,
        headers: body === undefined ? { authorization: this.authorization } : { authorization: this.authorization, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    let response: Response;
    try {
      response = await send().catch((err) => {
        // A kept-alive connection the server closed while idle fails the next request sent on it with a reset before
        // any answer: that request never reached Asterisk, so it is sent once more on a fresh connection.
        if ((err as { code?: string }).code !== "ECONNRESET") throw err;
        return send();
      });
    } catch (err) {
      throw new AriError(0, `Asterisk did not answer: ${(err as Error).message}`, method, path);
    }
    const text = await response.text();
    if (!response.ok) throw new AriError(response.status, errorMessage(text) ?? response.statusText, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

/** ARI errors are `{"message": "…"}`. */
function errorMessage(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : null;
  } catch {
    return text.trim() || null;
  }
}
