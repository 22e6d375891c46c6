// What the benchmark's child processes share (bench/function.ts, bench/bigThread.ts): bounded
// concurrency, and printing the result as one JSON line for bench/run.ts.

/** Runs `fn` over `items` with at most `concurrency` calls in flight. */
export async function inFlight<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Prints the measurement's result on stdout and exits 0, or prints the error and exits 1. */
export function printAndExit(measurement: Promise<unknown>): void {
  measurement.then(
    (result) => {
      process.stdout.write(JSON.stringify(result) + "\n");
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
