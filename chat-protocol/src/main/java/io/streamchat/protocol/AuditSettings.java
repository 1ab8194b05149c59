package io.streamchat.protocol;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings of the Kafka audit log, read by the session verticles (which decide what is written)
 * and the audit verticle (which writes it).
 *
 * @param bootstrap         CHAT_KAFKA_BOOTSTRAP: bootstrap servers; {@code none} (or unset outside the launcher)
 *                          turns the audit log off
 * @param topic             CHAT_KAFKA_TOPIC (chat.events)
 * @param chunks            CHAT_KAFKA_CHUNKS (true): false leaves chunk events out (the {@code complete} event
 *                          carries the whole text), for high volume
 * @param deliveryTimeoutMs CHAT_KAFKA_DELIVERY_TIMEOUT_MS (30000): how long the producer keeps retrying a record
 *                          before it gives up on it; a session taken over from an owner that did not hand it off
 *                          waits this long (and 5 s more) before its audit goes on, so that no record of that owner
 *                          can still land; at least 3000
 * @param maxInFlightRecords CHAT_KAFKA_MAX_IN_FLIGHT_RECORDS (5000): records a session verticle has in flight to
 *                          Kafka at most; the rest wait in the session logs in Redis and follow in order
 * @param partitions        CHAT_KAFKA_PARTITIONS (12): partitions of the topic when this node creates it
 * @param clientProperties  every CHAT_KAFKA_CLIENT_* setting as a Kafka client property, for TLS and SASL:
 *                          CHAT_KAFKA_CLIENT_SECURITY_PROTOCOL=SASL_SSL is {@code security.protocol=SASL_SSL}
 */
public record AuditSettings(String bootstrap, String topic, boolean chunks, long deliveryTimeoutMs, int maxInFlightRecords,
                            int partitions, Map<String, String> clientProperties) {

  private static final String CLIENT_PREFIX = "CHAT_KAFKA_CLIENT_";

  public static AuditSettings from(ConfigSource config) {
    return new AuditSettings(
        config.string("CHAT_KAFKA_BOOTSTRAP", "none").strip(),
        config.string("CHAT_KAFKA_TOPIC", "chat.events"),
        config.bool("CHAT_KAFKA_CHUNKS", true),
        Math.max(3000, config.number("CHAT_KAFKA_DELIVERY_TIMEOUT_MS", 30_000)),
        config.integer("CHAT_KAFKA_MAX_IN_FLIGHT_RECORDS", 5000),
        config.integer("CHAT_KAFKA_PARTITIONS", 12),
        clientProperties(config));
  }

  /** CHAT_KAFKA_CLIENT_SASL_JAAS_CONFIG is {@code sasl.jaas.config}: lower case, dots for underscores. */
  public static Map<String, String> clientProperties(ConfigSource config) {
    Map<String, String> properties = new TreeMap<>();
    config.withPrefix(CLIENT_PREFIX).forEach((name, value) ->
        properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value));
    return Map.copyOf(properties);
  }

  /** Never prints the client properties' values: they hold passwords. */
  @Override
  public String toString() {
    return "AuditSettings[bootstrap=" + bootstrap + ", topic=" + topic + ", chunks=" + chunks + ", clientProperties="
        + clientProperties.keySet() + "]";
  }

  public boolean enabled() {
    return !bootstrap.isEmpty() && !"none".equalsIgnoreCase(bootstrap);
  }
}
