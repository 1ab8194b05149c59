package io.streamchat.audit;

import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditSettings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Reads the audit topic back, off the event loop: the newest record of a session, for an owner
 * that must learn what an earlier one wrote. Blocking; used by one worker task at a time.
 */
final class TopicReader implements AutoCloseable {

  private static final Duration POLL = Duration.ofMillis(500);

  private final AuditSettings settings;
  private KafkaConsumer<String, String> consumer;

  TopicReader(Vertx vertx, AuditSettings settings) {
    this.settings = settings;
  }

  /** Creates the topic when it does not exist, with CHAT_KAFKA_PARTITIONS and the broker's replication factor. */
  void ensureTopic() throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
    Properties props = new Properties();
    props.put("bootstrap.servers", settings.bootstrap());
    try (Admin admin = Admin.create(props)) {
      admin.createTopics(List.of(new NewTopic(settings.topic(), Optional.of(settings.partitions()), Optional.empty())))
          .all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
  }

  /**
   * The newest record of the session among its epochs, read from the request's offset (or time) to
   * the end of the session's partition as it was when the reading started.
   */
  Reconciled newest(Reconcile request) {
    KafkaConsumer<String, String> reader = consumer();
    List<PartitionInfo> partitions = reader.partitionsFor(settings.topic());
    if (partitions == null || partitions.isEmpty()) {
      throw new IllegalStateException("topic " + settings.topic() + " has no partitions");
    }
    byte[] key = request.sessionId().getBytes(StandardCharsets.UTF_8);
    // The producer's default partitioner for a keyed record.
    TopicPartition partition = new TopicPartition(settings.topic(), Utils.toPositive(Utils.murmur2(key)) % partitions.size());
    long end = reader.endOffsets(List.of(partition)).get(partition);
    long start = request.fromOffset();
    if (start < 0) {
      Map<TopicPartition, OffsetAndTimestamp> found = reader.offsetsForTimes(
          Map.of(partition, Math.max(0, request.fromTimeMs())));
      OffsetAndTimestamp at = found.get(partition);
      start = at == null ? end : at.offset();
    }
    Set<String> epochs = new HashSet<>(request.epochs());
    long lastSeq = 0;
    long lastOffset = -1;
    reader.assign(List.of(partition));
    reader.seek(partition, start);
    while (reader.position(partition) < end) {
      for (ConsumerRecord<String, String> record : reader.poll(POLL)) {
        if (record.offset() >= end || !request.sessionId().equals(record.key())) {
          continue;
        }
        JsonObject value = new JsonObject(record.value());
        Long seq = value.getLong("seq");
        if (seq != null && epochs.contains(value.getString("epoch")) && seq >= lastSeq) {
          lastSeq = seq;
          lastOffset = record.offset();
        }
      }
    }
    reader.assign(List.of());
    return new Reconciled(lastSeq, partition.partition(), lastOffset);
  }

  private KafkaConsumer<String, String> consumer() {
    if (consumer == null) {
      Properties props = new Properties();
      props.put("bootstrap.servers", settings.bootstrap());
      props.put("enable.auto.commit", "false");
      props.put("default.api.timeout.ms", "10000");
      props.put("request.timeout.ms", "5000");
      props.put("max.poll.records", "2000");
      props.put("client.id", "streamchat-audit-reader");
      consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }
    return consumer;
  }

  @Override
  public void close() {
    if (consumer != null) {
      consumer.close(Duration.ofSeconds(1));
    }
  }
}
