/** Environment that turns every abuse limit off: tests and benchmarks send faster than people do. */
export const NO_RATE_LIMITS = {
  RATE_LIMIT_USER_MESSAGES_PER_MINUTE: '0',
  RATE_LIMIT_IP_MESSAGES_PER_MINUTE: '0',
  RATE_LIMIT_USER_SESSIONS_PER_HOUR: '0',
  RATE_LIMIT_IP_SESSIONS_PER_HOUR: '0',
  RATE_LIMIT_USER_CONCURRENT_STREAMS: '0',
  RATE_LIMIT_IP_CONCURRENT_STREAMS: '0',
};
