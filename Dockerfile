# syntax=docker/dockerfile:1
# The Flowyte appliance: one image running the API, the widget, the workers and (later) the voice bridge.
#   docker build -t flowyte .                                     # with the default speech and embedding models baked in
#   docker build --build-arg DOWNLOAD_MODELS=false -t flowyte .   # slim: no network beyond the package registries
# Pinned to the Bun release that writes this repository's bun.lock, so --frozen-lockfile reads it as written.
ARG BUN_VERSION=1.4.5

# ---- dependencies: production packages only, exactly as locked ------------------------------------------
FROM oven/bun:${BUN_VERSION}-debian AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# --production leaves out the devDependencies (drizzle-kit, the test tools); swagger-ui-dist (served by the API docs
# page from node_modules at run time) is a production dependency and stays.
RUN bun install --frozen-lockfile --production \
 && test -f node_modules/swagger-ui-dist/swagger-ui-bundle.js
# recheck's JVM jar and native binary are optional backends (about 50 MB); the server runs its pure-JavaScript checker.
RUN rm -rf node_modules/recheck-jar node_modules/recheck-linux-* \
 && test -f node_modules/recheck/lib/main.js

# ---- source: what .dockerignore lets through, with the optional folders guaranteed to exist ----------------
# plugins/ and voice/ may be empty in a checkout (git keeps no empty folders), and COPY of a missing path fails.
FROM oven/bun:${BUN_VERSION}-debian AS source
WORKDIR /app
COPY . .
RUN mkdir -p plugins voice \
 && test -f src/platform/db/migrations/meta/_journal.json

# ---- models: Whisper (STT), Piper (TTS), Silero VAD and the embedding model, fetched at build time only ----
# The image fetches nothing at run time (MODELS_AUTO_DOWNLOAD=false below).
# With DOWNLOAD_MODELS=false the image still works: Silero VAD comes from its npm
# package, speech falls back to espeak-ng (and understands the keypad only), knowledge to the hashing embedder.
FROM oven/bun:${BUN_VERSION}-debian AS models
ARG DOWNLOAD_MODELS=true
ARG WHISPER_MODEL=tiny
ARG PIPER_VOICE=en_US-amy-medium
# English calls transcribed while the caller speaks (empty: Whisper alone, once each utterance ends).
ARG STREAMING_MODEL=sherpa-onnx-streaming-zipformer-en-20M-2023-02-17
ARG EMBEDDING_MODEL=onnx-community/all-MiniLM-L6-v2-ONNX
# Layout under /models, which the loaders read through MODELS_DIR (voice/speech, src/knowledge):
#   whisper/sherpa-onnx-whisper-<model>/   <model>-encoder.int8.onnx, <model>-decoder.int8.onnx, <model>-tokens.txt
#                                          (the multilingual tiny by default; the fp32 copies are dropped)
#   piper/<voice>/                         <voice>.onnx, tokens.txt and espeak-ng-data/ (voice id piper:<voice>)
#   vad/silero_vad.onnx                    Silero VAD for sherpa-onnx's Vad
#   streaming/<model>/                     a streaming Zipformer (encoder/decoder/joiner *.onnx, tokens.txt)
#   embeddings/<model id>/                 a transformers.js model folder (config, tokenizer, onnx/model.onnx)
RUN set -eu; \
    mkdir -p /models/whisper /models/piper /models/vad /models/embeddings /models/streaming; \
    if [ "$DOWNLOAD_MODELS" = "true" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends ca-certificates curl bzip2; \
      sherpa="https://github.com/k2-fsa/sherpa-onnx/releases/download"; \
      curl -fsSL -o /tmp/whisper.tar.bz2 "$sherpa/asr-models/sherpa-onnx-whisper-${WHISPER_MODEL}.tar.bz2"; \
      tar -xjf /tmp/whisper.tar.bz2 -C /models/whisper; \
      whisper="/models/whisper/sherpa-onnx-whisper-${WHISPER_MODEL}"; \
      rm -rf "$whisper/test_wavs" "$whisper/${WHISPER_MODEL}-encoder.onnx" "$whisper/${WHISPER_MODEL}-decoder.onnx"; \
      test -f "$whisper/${WHISPER_MODEL}-encoder.int8.onnx" && test -f "$whisper/${WHISPER_MODEL}-tokens.txt"; \
      curl -fsSL -o /tmp/piper.tar.bz2 "$sherpa/tts-models/vits-piper-${PIPER_VOICE}.tar.bz2"; \
      tar -xjf /tmp/piper.tar.bz2 -C /models/piper; \
      mv "/models/piper/vits-piper-${PIPER_VOICE}" "/models/piper/${PIPER_VOICE}"; \
      test -f "/models/piper/${PIPER_VOICE}/${PIPER_VOICE}.onnx" && test -f "/models/piper/${PIPER_VOICE}/tokens.txt" && test -d "/models/piper/${PIPER_VOICE}/espeak-ng-data"; \
      rm -f /tmp/whisper.tar.bz2 /tmp/piper.tar.bz2; \
      curl -fsSL -o /models/vad/silero_vad.onnx "$sherpa/asr-models/silero_vad.onnx"; \
      if [ -n "$STREAMING_MODEL" ]; then \
        curl -fsSL -o /tmp/streaming.tar.bz2 "$sherpa/asr-models/${STREAMING_MODEL}.tar.bz2"; \
        tar -xjf /tmp/streaming.tar.bz2 -C /models/streaming; \
        rm -rf /tmp/streaming.tar.bz2 "/models/streaming/${STREAMING_MODEL}/test_wavs"; \
        test -f "/models/streaming/${STREAMING_MODEL}/tokens.txt"; \
      fi; \
      hf="https://huggingface.co/${EMBEDDING_MODEL}/resolve/main"; \
      dest="/models/embeddings/${EMBEDDING_MODEL}"; \
      mkdir -p "$dest/onnx"; \
      for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json onnx/model.onnx; do \
        curl -fsSL -o "$dest/$f" "$hf/$f"; \
      done; \
      rm -rf /var/lib/apt/lists/*; \
    elif [ "$DOWNLOAD_MODELS" != "false" ]; then \
      echo "DOWNLOAD_MODELS must be true or false (got '$DOWNLOAD_MODELS')" >&2; exit 1; \
    else \
      echo "DOWNLOAD_MODELS=false: no models baked in; speech falls back to espeak-ng, embeddings to hashing"; \
    fi

# ---- runtime -------------------------------------------------------------------------------------------
FROM oven/bun:${BUN_VERSION}-debian AS runtime
# espeak-ng: the text-to-speech that always works, used when no Piper voice is in MODELS_DIR.
# bzip2: `bun run models pull` extracts the sherpa-onnx .tar.bz2 archives with tar -xjf.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng bzip2 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Code and packages stay owned by root, so the server (uid 1000) cannot rewrite itself.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=source /app/package.json /app/bun.lock /app/bunfig.toml /app/tsconfig.json ./
# src/ carries src/platform/db/migrations/, applied automatically at start.
COPY --from=source /app/src ./src
COPY --from=source /app/plugins ./plugins
COPY --from=source /app/voice ./voice
COPY --from=models /models /models

# uid 1000 is the image's `bun` user; numeric so Kubernetes' runAsNonRoot can verify it.
RUN mkdir -p /data && chown 1000:1000 /data

ENV DATA_DIR=/data \
    MODELS_DIR=/models \
    MODELS_AUTO_DOWNLOAD=false \
    PORT=3000 \
    HOST=0.0.0.0 \
    NODE_ENV=production

USER 1000:1000
VOLUME /data
EXPOSE 3000

# The image has no curl: Bun's own fetch does the check. Exit 1 on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || '3000') + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Bun is PID 1: src/main.ts handles SIGTERM itself (`docker stop` is a clean stop), and the embedded store's lock is a
# kernel lock on an open file, so a server that crashed never blocks the next start.
CMD ["bun", "src/main.ts"]
