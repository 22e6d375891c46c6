// Preloaded with `node -r`: when the process exits, writes its resource usage (peak RSS included) as
// JSON to file descriptor 3, which the benchmark opens as a pipe. The process itself is not touched.
import * as fs from "node:fs";

process.on("exit", () => {
  try {
    fs.writeSync(3, JSON.stringify(process.resourceUsage()));
  } catch {
    // fd 3 not open: not run by the benchmark
  }
});
