export { runReplay, type ReplayOptions, type ReplayResult } from "./replay";
export { BatchWriter, estimateRequestBytes, MAX_TRANSACTION_ROWS, type BatchWriterOptions, type BatchWriterStats, type EventSettled } from "./batchWriter";
export { readEvents, formatPosition, type ReadItem, type Position, type InputFormat } from "./jsonEvents";
export { pathInputs, blobInputs, containerClient, type InputSource, type BlobInputOptions } from "./sources";
export { quarantineRows, quarantineQuery, updateQuarantineRow, type QuarantineFilter, type QuarantineRow } from "./quarantine";
export { Progress, summaryLines, Tally, type ReplayIO, type TypeCounts } from "./report";
