package io.streamchat.testkit;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import io.streamchat.audit.TopicScan;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/** The audit topic read back from the start, as an outside consumer would. */
public final class AuditTopic {

  /** One record: its key, its {@code type} and {@code message} headers, its value, where it is. */
  public record AuditEntry(String key, String type, String message, JsonObject value, int partition, long offset) {
    public long seq() {
      return value.getLong("seq", -1L);
    }
  }

  private AuditTopic() {
  }

  /** Every record of the topic, each partition in order. */
  public static List<AuditEntry> read(String bootstrap, String topic) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("default.api.timeout.ms", "15000");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new StringDeserializer())) {
      Map<TopicPartition, Long> from = new HashMap<>();
      consumer.partitionsFor(topic).forEach(p -> from.put(new TopicPartition(p.topic(), p.partition()), 0L));
      List<AuditEntry> all = new ArrayList<>();
      TopicScan.readToEnd(consumer, from, record -> all.add(new AuditEntry(record.key(),
              TopicScan.header(record, "type"), TopicScan.header(record, "message"), new JsonObject(record.value()),
              record.partition(), record.offset())), Duration.ofSeconds(30), () -> { });
      return all;
    } catch (TimeoutException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The records of one session, in topic order. */
  public static List<AuditEntry> ofSession(String bootstrap, String topic, String sessionId) {
    return read(bootstrap, topic).stream().filter(entry -> sessionId.equals(entry.key())).toList();
  }

  /** Reads until {@code done} holds for the session's records, or the timeout; returns the last read. */
  public static List<AuditEntry> await(String bootstrap, String topic, String sessionId,
                                       Predicate<List<AuditEntry>> done, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<AuditEntry> entries = ofSession(bootstrap, topic, sessionId);
      if (done.test(entries) || System.nanoTime() > deadline) {
        return entries;
      }
      Thread.sleep(250);
    }
  }
}
