package io.streamchat.durable;

import io.streamchat.protocol.ConfigSource;

/**
 * Settings of the durable tier.
 *
 * @param url      CHAT_DB_URL ({@code postgresql://user:password@host:port/db}; the launcher starts an embedded
 *                 server when unset; {@code none} turns the durable tier off)
 * @param poolSize CHAT_DB_POOL_SIZE (8): connections per durable verticle instance
 */
public record DurableSettings(String url, int poolSize) {

  public static final String OFF = "none";

  public static DurableSettings from(ConfigSource config) {
    return new DurableSettings(config.string("CHAT_DB_URL", OFF), config.integer("CHAT_DB_POOL_SIZE", 8));
  }

  public boolean enabled() {
    return !OFF.equalsIgnoreCase(url.strip());
  }
}
