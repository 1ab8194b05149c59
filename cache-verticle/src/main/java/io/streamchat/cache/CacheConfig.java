package io.streamchat.cache;

import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.Secrets;

/**
 * Settings of the cache verticle.
 *
 * @param redisUrl          CHAT_REDIS_URL: {@code redis://[:password@]host:port[/db]}, {@code rediss://} for TLS
 * @param historyTtlSeconds CHAT_HISTORY_TTL_SECONDS (86400): how long a session's log and history live after its last write
 * @param logMaxEvents      CHAT_REDIS_LOG_MAX_EVENTS (10000): events kept per session log (approximately; older ones are trimmed)
 * @param maxMessages       CHAT_HISTORY_MAX_MESSAGES (1000): messages kept per session history
 * @param timeoutMs         CHAT_REDIS_TIMEOUT_MS (2000): one Redis request, after which it counts as failed
 * @param poolSize          CHAT_REDIS_POOL_SIZE (32): connections per cache verticle instance
 * @param caPath            CHAT_REDIS_CA_PATH: PEM certificates to trust for {@code rediss://} (unset: the JVM's own)
 */
public record CacheConfig(String redisUrl, long historyTtlSeconds, int logMaxEvents, int maxMessages,
                          long timeoutMs, int poolSize, String caPath) {

  public static CacheConfig from(ConfigSource config) {
    return new CacheConfig(
        config.string("CHAT_REDIS_URL", "redis://127.0.0.1:6379"),
        config.number("CHAT_HISTORY_TTL_SECONDS", 86_400),
        config.integer("CHAT_REDIS_LOG_MAX_EVENTS", 10_000),
        config.integer("CHAT_HISTORY_MAX_MESSAGES", 1000),
        config.number("CHAT_REDIS_TIMEOUT_MS", 2000),
        config.integer("CHAT_REDIS_POOL_SIZE", 32),
        config.string("CHAT_REDIS_CA_PATH", null));
  }

  /** Never prints the password in the URL. */
  @Override
  public String toString() {
    return "CacheConfig[redisUrl=" + Secrets.maskUrl(redisUrl) + ", poolSize=" + poolSize + ", caPath=" + caPath + "]";
  }
}
