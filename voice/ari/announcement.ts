// A recorded announcement played to a caller's channel (the number is not in service; the agent cannot take calls
// now), waited for until it has played out or the caller left, so the hangup that follows never cuts it short.
import type { Logger } from "../../src/platform/log.ts";
import { AriError, type AriClient } from "./client.ts";
import { AriWaitTimeout } from "./events.ts";

/** How long an announcement may play before the call is hung up anyway. */
const ANNOUNCEMENT_LIMIT_MS = 30_000;

/** Plays `media` (one playback: Asterisk plays the URIs in turn) and resolves once it finished or the caller left. */
export async function playAnnouncement(client: AriClient, channelId: string, media: string | string[], log: Logger): Promise<void> {
  const playbackId = crypto.randomUUID();
  const settled = new AbortController();
  const wait = { timeoutMs: ANNOUNCEMENT_LIMIT_MS, signal: settled.signal };
  // Registered before the request, so a short sound's PlaybackFinished cannot arrive unseen.
  const over = Promise.race([
    client.events.waitFor("PlaybackFinished", (e) => e.playback.id === playbackId, wait),
    client.events.waitFor("StasisEnd", (e) => e.channel.id === channelId, wait),
  ]);
  over.catch(() => {}); // may time out while the play request is still out
  try {
    await client.channels.play(channelId, media, playbackId);
    await over;
  } catch (err) {
    // The caller already left (404), or it ran past the limit: nothing to report.
    if (!(err instanceof AriWaitTimeout) && !(err instanceof AriError && err.status === 404)) log.warn("an announcement did not play", { channelId, media, err });
  } finally {
    settled.abort();
  }
}
