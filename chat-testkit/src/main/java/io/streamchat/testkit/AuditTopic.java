package io.streamchat.testkit;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
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

  /** Every record of the topic, each partition in order (partitions one after the other). */
  public static List<AuditEntry> read(String bootstrap, String topic) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("default.api.timeout.ms", "15000");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new StringDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<AuditEntry> all = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          all.add(new AuditEntry(record.key(), header(record, "type"), header(record, "message"),
              new JsonObject(record.value()), record.partition(), record.offset()));
        }
      }
      return all;
    }
  }

  private static String header(ConsumerRecord<String, String> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
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
