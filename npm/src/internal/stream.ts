/** A producer as a `ReadableStream` with backpressure. */

/**
 * Wraps a producer that calls `emit(chunk)` per piece (awaiting what it returns) as a
 * ReadableStream with backpressure: the producer waits whenever the queue is full.
 */
export function streamFrom(produce: (emit: (chunk: Uint8Array) => Promise<void> | undefined) => Promise<void>, highWaterMark = 4): ReadableStream<Uint8Array> {
  let wake: (() => void) | undefined;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const emit = (chunk: Uint8Array) => {
          if (cancelled) return Promise.reject(new DOMException("stream cancelled", "AbortError"));
          controller.enqueue(chunk);
          return (controller.desiredSize ?? 1) > 0 ? undefined : new Promise<void>((resolve) => (wake = resolve));
        };
        // Not awaited: start() must return for reads to begin; the producer runs alongside.
        produce(emit).then(
          () => controller.close(),
          (e) => { if (!cancelled) controller.error(e); },
        );
      },
      pull() {
        wake?.();
        wake = undefined;
      },
      cancel() {
        cancelled = true;
        wake?.();
      },
    },
    { highWaterMark },
  );
}
