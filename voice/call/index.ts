// The call door: one call's session over whatever transport carries its audio.
export { CallSession } from "./session.ts";
export type { CallSessionOptions, CallSpeech, CallTransport } from "./types.ts";
