package io.streamchat.durable;

import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.Secrets;

/**
 * Settings of the durable tier.
 *
 * @param url      CHAT_DB_URL ({@code postgresql://user:password@host:port/db}; the launcher starts an embedded
 *                 server when unset; {@code none} turns the durable tier off)
 * @param poolSize CHAT_DB_POOL_SIZE (8): connections per durable verticle instance
 * @param caPath   CHAT_DB_CA_PATH: PEM certificates to trust for TLS ({@code ?sslmode=verify-full} in the URL);
 *                 unset: the JVM's own
 */
public record DurableSettings(String url, int poolSize, String caPath) {

  public static final String OFF = "none";

  public static DurableSettings from(ConfigSource config) {
    return new DurableSettings(config.string("CHAT_DB_URL", OFF), config.integer("CHAT_DB_POOL_SIZE", 8),
        config.string("CHAT_DB_CA_PATH", null));
  }

  /** Never prints the password in the URL. */
  @Override
  public String toString() {
    return "DurableSettings[url=" + Secrets.maskUrl(url) + ", poolSize=" + poolSize + ", caPath=" + caPath + "]";
  }

  public boolean enabled() {
    return !OFF.equalsIgnoreCase(url.strip());
  }
}
