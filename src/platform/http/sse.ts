// Server-sent events as the API frames them: `event:<type>\ndata:<json>\n\n`, ending with `event: done`
// (or `event: error` carrying a problem), with comment heartbeats so proxies keep the connection open.
// When the client goes away, the producer's AbortSignal fires so the work behind the stream stops.
import { Problem } from "./problem.ts";

export type Emit = (type: string, data: unknown) => void;

/**
 * Operation extension for routes that answer `text/event-stream` (the route's `detail`, e.g.
 * `{ [EVENT_STREAM]: "delta {text} frames, then done" }`): the document lists that media type on the success response,
 * besides the JSON answer the route gives without streaming. A `t.Any()` response schema stands for the stream alone.
 */
export const EVENT_STREAM = "x-event-stream";

/** What the document says of a stream: its frames in words, or also each frame's data schema (see `eventStream`). */
export type EventStreamDoc = string | { event: object; description: string };

/**
 * For a route whose frames have one data schema (the OpenAI-shaped streams): spread into its `detail`. OpenAPI 3.1
 * cannot type the frames of a stream: the body is text, and each frame's data schema is the media type's
 * `x-event-schema`.
 */
export function eventStream(event: object, description: string) {
  return { [EVENT_STREAM]: { event, description } satisfies EventStreamDoc };
}

export interface StreamOptions {
  heartbeatMs?: number;
  headers?: Record<string, string>;
  /** The request path, used as the `instance` of an error frame. */
  instance?: string;
  /** Called once the stream has finished, for any reason. */
  onClose?: (reason: "done" | "error" | "disconnected") => void;
}

const encoder = new TextEncoder();

export function frame(type: string, data: unknown): string {
  return `event:${type}\ndata:${JSON.stringify(data)}\n\n`;
}

export function streamEvents(
  requestSignal: AbortSignal,
  producer: (emit: Emit, signal: AbortSignal) => Promise<unknown>,
  opts: StreamOptions = {},
): Response {
  const abort = new AbortController();
  let closed = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let finish: (reason: "done" | "error" | "disconnected") => void = () => {};

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (chunk: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(chunk));
        } catch {
          finish("disconnected");
        }
      };
      finish = (reason) => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        requestSignal.removeEventListener("abort", onAbort);
        if (reason === "disconnected") abort.abort();
        else {
          try {
            controller.close();
          } catch {}
        }
        opts.onClose?.(reason);
      };
      const onAbort = () => finish("disconnected");
      requestSignal.addEventListener("abort", onAbort, { once: true });
      heartbeat = setInterval(() => write(": heartbeat\n\n"), opts.heartbeatMs ?? 15_000);

      producer((type, data) => write(frame(type, data)), abort.signal).then(
        () => {
          write(frame("done", {}));
          finish("done");
        },
        (err) => {
          if (abort.signal.aborted) return finish("disconnected");
          const problem = err instanceof Problem ? err : new Problem(500, "internal_error", "the stream failed");
          write(frame("error", problem.body(opts.instance ?? "")));
          finish("error");
        },
      );
    },
    cancel() {
      finish("disconnected");
    },
  });

  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...opts.headers,
    },
  });
}
