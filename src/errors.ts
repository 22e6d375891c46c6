/** The ledger's errors. Each names the event and says what failed; all of them make Event Grid retry. */
export class LedgerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A row the real Table service would refuse (Azurite does not check all of these). */
export class TableLimitError extends LedgerError {}

/** Storage was unreachable, throttled, failed, or too slow: retrying later can succeed. */
export class StorageError extends LedgerError {}

/** A current-state row kept changing under us for longer than the retry budget. */
export class ConcurrencyError extends LedgerError {}

/** The app's settings are missing or malformed. */
export class ConfigurationError extends LedgerError {}
