// An OpenTelemetry collector's trace receiver (stand-in for the Collector, Jaeger or Tempo), following the OTLP/HTTP
// specification (opentelemetry-proto, "OTLP/HTTP"): POST /v1/traces with an ExportTraceServiceRequest in the JSON
// encoding (trace and span ids as hex strings, enum values as numbers, 64-bit times as decimal strings), answered
// 200 with an ExportTraceServiceResponse. The protobuf encoding is answered 415, which a JSON exporter never sends.

/** A received span, with its attributes and its resource's flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  events: string[];
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KeyValue[];
  events?: { name: string }[];
  status?: { code?: number };
}
interface ExportTraceServiceRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

export interface OtlpStandIn {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT is set to (the receiver appends /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  /** Authorization headers of the export requests, to check OTEL_EXPORTER_OTLP_HEADERS. */
  authorizations: (string | null)[];
  stop(): void;
}

const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  if (v.kvlistValue) return flatten(v.kvlistValue.values);
  return null;
}

const flatten = (attributes: KeyValue[] = []) => Object.fromEntries(attributes.map((a) => [a.key, value(a.value)]));

export function startOtlpStandIn(): OtlpStandIn {
  const spans: ReceivedSpan[] = [];
  const authorizations: (string | null)[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (new URL(req.url).pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      if (req.method !== "POST") return new Response(null, { status: 405 });
      if (!req.headers.get("content-type")?.startsWith("application/json")) return new Response("only the JSON encoding is accepted here", { status: 415 });
      authorizations.push(req.headers.get("authorization"));
      let body: ExportTraceServiceRequest;
      try {
        body = await req.json();
      } catch {
        return Response.json({ code: 3, message: "not JSON" }, { status: 400 });
      }
      for (const rs of body.resourceSpans ?? []) {
        const resource = flatten(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            // The JSON encoding spells ids in hex, not base64 as protobuf's generic JSON mapping would.
            if (!HEX_TRACE_ID.test(s.traceId) || !HEX_SPAN_ID.test(s.spanId) || (s.parentSpanId && !HEX_SPAN_ID.test(s.parentSpanId))) {
              return Response.json({ code: 3, message: `span ${s.name}: ids must be lowercase hex` }, { status: 400 });
            }
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || null,
              name: s.name,
              kind: s.kind ?? 0,
              startNs: BigInt(s.startTimeUnixNano),
              endNs: BigInt(s.endTimeUnixNano),
              status: s.status?.code ?? 0,
              attributes: flatten(s.attributes),
              resource,
              events: (s.events ?? []).map((e) => e.name),
            });
          }
        }
      }
      return Response.json({ partialSuccess: {} });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, spans, authorizations, stop: () => server.stop(true) };
}
