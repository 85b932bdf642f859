// sherpa-onnx-node, typed for the parts used here and loaded on first use: its native addon is large,
// and a platform without a prebuilt binary should lose only the local models, not the whole server.
import { createRequire } from "node:module";

export interface SherpaOfflineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}

export interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream;
  decodeAsync(stream: SherpaOfflineStream): Promise<{ text: string; lang?: string }>;
}

export interface SherpaOnlineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}

export interface SherpaOnlineRecognizer {
  createStream(): SherpaOnlineStream;
  isReady(stream: SherpaOnlineStream): boolean;
  decode(stream: SherpaOnlineStream): void;
  getResult(stream: SherpaOnlineStream): { text: string };
}

export interface SherpaOfflineTts {
  readonly sampleRate: number;
  generateAsync(request: { text: string; sid: number; speed: number }): Promise<{ samples: Float32Array; sampleRate: number }>;
}

interface SherpaModule {
  OfflineRecognizer: { createAsync(config: unknown): Promise<SherpaOfflineRecognizer> };
  OnlineRecognizer: new (config: unknown) => SherpaOnlineRecognizer;
  OfflineTts: { createAsync(config: unknown): Promise<SherpaOfflineTts> };
}

let loaded: SherpaModule | null = null;

export function loadSherpa(): SherpaModule {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)("sherpa-onnx-node") as SherpaModule;
    } catch (err) {
      throw new Error(`sherpa-onnx-node could not be loaded on this platform: ${(err as Error).message}`);
    }
  }
  return loaded;
}
