/** Tells instances that personalities or rules changed, so each drops what it derived from them. */
export interface ChangeFeed {
  publish(): void;
  onChange(listener: () => void): void;
}

/** For a single instance there is no one else to tell. */
export const localChangeFeed: ChangeFeed = { publish: () => undefined, onChange: () => undefined };
