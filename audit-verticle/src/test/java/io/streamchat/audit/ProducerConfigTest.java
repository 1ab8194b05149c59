package io.streamchat.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.ConfigSource;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
  void theCompressionMayBeChosenButNotWhatMakesTheWritesExactlyOnce() {
    Map<String, String> config = producerConfig(new JsonObject()
        .put("CHAT_KAFKA_CLIENT_COMPRESSION_TYPE", "lz4").put("CHAT_KAFKA_CLIENT_LINGER_MS", "60000")
        .put("CHAT_KAFKA_CLIENT_ACKS", "1").put("CHAT_KAFKA_CLIENT_ENABLE_IDEMPOTENCE", "false")
        .put("CHAT_KAFKA_CLIENT_SECURITY_PROTOCOL", "SASL_SSL"));
    assertThat(config).containsEntry("compression.type", "lz4").containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("linger.ms", "5").containsEntry("acks", "all").containsEntry("enable.idempotence", "true");
  }

  @Test
  void lz4WhereZstdsNativeLibraryCannotLoad() throws Exception {
    // Once per JVM (a class's initialization): a JVM of its own, told to load zstd from nowhere.
    Process process = new ProcessBuilder(new File(System.getProperty("java.home"), "bin/java").getPath(),
        "-DZstdNativePath=/nonexistent/libzstd.so", "-cp", System.getProperty("java.class.path"),
        PrintCompression.class.getName()).redirectErrorStream(true).start();
    try {
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(output).contains("zstd cannot load here").endsWith("compression.type=lz4\n");
    } finally {
      process.destroyForcibly();
    }
  }

  /** Prints the compression the producer gets by default. */
  public static final class PrintCompression {
    public static void main(String[] args) {
      System.out.println("compression.type=" + producerConfig(new JsonObject()).get("compression.type"));
    }
  }
}
