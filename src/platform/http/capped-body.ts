// A response body read up to a size, for answers from systems the appliance does not control (webhooks, crawled
// pages, integration providers): a declared length over the cap is refused before reading, and a body that grows
// past it is cut off as soon as it does, so a huge or endless answer never fills memory.

/** The body's bytes, or null when it is (or grows) larger than `maxBytes`; the rest of the body is cancelled. */
export async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body?.cancel();
    return null;
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
