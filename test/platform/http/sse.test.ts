// The SSE helper over a real HTTP connection (a throwaway Bun server), ahead of the streaming endpoints that use it.
import { afterEach, describe, expect, it } from "bun:test";
import { Problem } from "../../../src/platform/http/problem.ts";
import { streamEvents, type Emit } from "../../../src/platform/http/sse.ts";

let server: ReturnType<typeof Bun.serve> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

function serve(producer: (emit: Emit, signal: AbortSignal) => Promise<unknown>, opts: Parameters<typeof streamEvents>[2] = {}) {
  server = Bun.serve({ port: 0, fetch: (req) => streamEvents(req.signal, producer, { instance: "/stream", ...opts }) });
  return `http://127.0.0.1:${server.port}/stream`;
}

describe("streamEvents", () => {
  it("frames each event as event:<type> data:<json> and ends with event: done", async () => {
    const url = serve(async (emit) => {
      emit("agent_message", { text: "hi" });
      emit("tool_call", { name: "lookup" });
    });
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await res.text()).toBe('event:agent_message\ndata:{"text":"hi"}\n\nevent:tool_call\ndata:{"name":"lookup"}\n\nevent:done\ndata:{}\n\n');
  });

  it("ends with event: error carrying a problem when the producer fails", async () => {
    const url = serve(async (emit) => {
      emit("agent_message", { text: "partial" });
      throw new Problem(409, "no_published_version", "publish first");
    });
    const text = await (await fetch(url)).text();
    const last = text.trim().split("\n\n").pop()!;
    expect(last.startsWith("event:error\ndata:")).toBe(true);
    expect(JSON.parse(last.slice("event:error\ndata:".length))).toMatchObject({ status: 409, code: "no_published_version", instance: "/stream" });
    expect(text).not.toContain("event:done");
  });

  it("hides unexpected errors behind a generic problem", async () => {
    const url = serve(async () => {
      throw new Error("database password is hunter2");
    });
    const text = await (await fetch(url)).text();
    expect(text).toContain('"code":"internal_error"');
    expect(text).not.toContain("hunter2");
  });

  it("sends comment heartbeats while the producer is quiet", async () => {
    const url = serve(
      async (emit) => {
        await Bun.sleep(120);
        emit("agent_message", { text: "late" });
      },
      { heartbeatMs: 25 },
    );
    const text = await (await fetch(url)).text();
    expect(text.match(/: heartbeat\n\n/g)!.length).toBeGreaterThanOrEqual(2);
    expect(text.endsWith("event:done\ndata:{}\n\n")).toBe(true);
  });

  it("aborts the producer's work when the client disconnects", async () => {
    let ticks = 0;
    let aborted = false;
    let closedAs = "";
    const url = serve(
      async (emit, signal) => {
        signal.addEventListener("abort", () => (aborted = true));
        while (!signal.aborted && ticks < 500) {
          emit("tick", { n: ticks++ });
          await Bun.sleep(5);
        }
      },
      { onClose: (reason) => (closedAs = reason) },
    );
    const client = new AbortController();
    const res = await fetch(url, { signal: client.signal });
    const reader = res.body!.getReader();
    await reader.read();
    client.abort();
    await Bun.sleep(100);
    const ticksAtAbort = ticks;
    await Bun.sleep(100);
    expect(aborted).toBe(true);
    expect(closedAs).toBe("disconnected");
    expect(ticks).toBe(ticksAtAbort);
    expect(ticks).toBeLessThan(500);
  });
});
