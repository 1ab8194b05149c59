package io.streamchat.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.ConfigSource;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProducerConfigTest {

  private static Map<String, String> producerConfig(JsonObject settings) {
    return AuditVerticle.producerConfig(AuditSettings.from(ConfigSource.of(settings.put("CHAT_KAFKA_BOOTSTRAP", "k:9092"))));
  }

  @Test
  void writesAreExactlyOnceAndCompressedWithZstdByDefault() {
    Map<String, String> config = producerConfig(new JsonObject());
    assertThat(config).containsEntry("bootstrap.servers", "k:9092").containsEntry("acks", "all")
        .containsEntry("enable.idempotence", "true").containsEntry("compression.type", "zstd")
        .containsEntry("linger.ms", "5");
  }

  @Test
  void batchingAndCompressionMayBeChangedButNotWhatMakesTheWritesExactlyOnce() {
    Map<String, String> config = producerConfig(new JsonObject()
        .put("CHAT_KAFKA_CLIENT_COMPRESSION_TYPE", "lz4").put("CHAT_KAFKA_CLIENT_LINGER_MS", "20")
        .put("CHAT_KAFKA_CLIENT_ACKS", "1").put("CHAT_KAFKA_CLIENT_ENABLE_IDEMPOTENCE", "false")
        .put("CHAT_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL"));
    assertThat(config).containsEntry("compression.type", "lz4").containsEntry("linger.ms", "20")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("acks", "all").containsEntry("enable.idempotence", "true");
  }
}
