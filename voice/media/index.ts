// The media door: RTP, codecs, resampling, jitter buffering, paced playout and DTMF for one call's audio.
export { codecFor, decodeAlaw, decodeSlin, decodeUlaw, encodeAlaw, encodeSlin, encodeUlaw, float32ToInt16, int16ToFloat32 } from "./codecs.ts";
export type { Codec, Endianness, MediaFormat } from "./codecs.ts";
export { InbandDtmfDetector, TelephoneEventDecoder } from "./dtmf.ts";
export type { DtmfDigit, DtmfSource } from "./dtmf.ts";
export { JitterBuffer, sequenceDistance } from "./jitter.ts";
export type { JitterBufferOptions, JitterFrame, JitterStats } from "./jitter.ts";
export { resample, Resampler } from "./resample.ts";
export { FRAME_MS, Playout } from "./playout.ts";
export type { PlaybackResult, PlayoutOptions } from "./playout.ts";
export { parseRtp, RtpEndpoint, serializeRtp } from "./rtp.ts";
export type { AudioFrame, RtpAddress, RtpEndpointEvents, RtpEndpointOptions, RtpEndpointStats, RtpHeader, RtpPacket } from "./rtp.ts";
export { decodeWav, encodeWav } from "./wav.ts";
export { EchoGate } from "./echo.ts";
export type { EchoGateOptions, EchoGateStats } from "./echo.ts";
export { chooseMediaFormat, parseFormatNames } from "./wideband.ts";
export type { MediaFormatSetting } from "./wideband.ts";
export type { DecodedAudio } from "./wav.ts";
