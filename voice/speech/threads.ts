// Stopping the model threads (Silero VAD, streaming Zipformer), which hold native sherpa-onnx objects.

/**
 * Ends a model thread once it is idle: terminating one in the middle of a native call (a model still loading, say)
 * aborts the whole process, so the thread is asked to finish what is queued and answer `exited` first. One that does
 * not answer within `graceMs` is terminated all the same.
 */
export function stopThread(worker: Worker, exit: unknown, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      worker.removeEventListener("message", onMessage);
      worker.terminate();
      resolve();
    };
    const onMessage = (message: MessageEvent<{ type?: string }>) => {
      if (message.data?.type === "exited") done();
    };
    const timer = setTimeout(done, graceMs);
    worker.addEventListener("message", onMessage);
    worker.postMessage(exit);
  });
}
