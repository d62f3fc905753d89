/** A message for someone with no live socket: what a notifier tells their devices or a webhook. */
export interface Notification {
  /** The user to notify. */
  recipientId: string;
  connectionId: string;
  senderId: string;
  messageId: string;
  seq: number;
  timestamp: string;
  /** The message text, or null when notification text is turned off for privacy (NOTIFY_INCLUDE_TEXT=false). */
  text: string | null;
  /** The recipient's unread messages in this connection, this one included. */
  unreadCount: number;
}

/**
 * Tells a user about a message they did not see live. Implementations retry on their own and never
 * throw at the caller: a notification is a courtesy, the message itself is already stored.
 */
export interface Notifier {
  readonly name: string;
  notify(notification: Notification): Promise<void>;
  close?(): Promise<void>;
}

/** Calls every notifier; one failing does not stop the others. */
export function allNotifiers(notifiers: readonly Notifier[]): Notifier {
  return {
    name: notifiers.map((n) => n.name).join('+') || 'none',
    async notify(notification) {
      await Promise.allSettled(notifiers.map((n) => n.notify(notification)));
    },
    async close() {
      await Promise.allSettled(notifiers.map((n) => n.close?.()));
    },
  };
}
