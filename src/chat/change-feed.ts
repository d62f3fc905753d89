/** Tells instances that personalities or rules changed, so each drops what it derived from them. */
export interface ChangeFeed {
  publish(): void;
  /** Called on news of a change, and whenever news may have been missed (a reconnect). */
  onChange(listener: () => void): void;
  /** False while news from other instances cannot arrive: nothing derived may be kept then. */
  readonly listening: boolean;
}

/** For a single instance there is no one else to tell. */
export const localChangeFeed: ChangeFeed = { publish: () => undefined, onChange: () => undefined, listening: true };
