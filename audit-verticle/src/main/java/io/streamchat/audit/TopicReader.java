package io.streamchat.audit;

import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.EpochHistory;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the audit topic back, off the event loop: which of a session's records arrived, for an
 * owner that cannot know (it took the session over, or a batch's outcome was lost). Blocking; used
 * by one worker task at a time.
 */
final class TopicReader implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TopicReader.class);
  private static final Duration STALL = Duration.ofSeconds(15);

  private final AuditSettings settings;
  private KafkaConsumer<String, String> consumer;

  TopicReader(AuditSettings settings) {
    this.settings = settings;
  }

  /** Creates the topic when it does not exist, with CHAT_KAFKA_PARTITIONS and the broker's replication factor. */
  void ensureTopic() throws InterruptedException, ExecutionException, TimeoutException {
    Properties props = new Properties();
    props.put("bootstrap.servers", settings.bootstrap());
    props.put("default.api.timeout.ms", "5000");
    props.put("request.timeout.ms", "3000");
    props.putAll(settings.clientProperties());
    try (Admin admin = Admin.create(props)) {
      NewTopic topic = new NewTopic(settings.topic(), Optional.of(settings.partitions()), Optional.empty())
          .configs(Map.of("max.message.bytes", Integer.toString(AuditVerticle.MAX_RECORD_BYTES)));
      admin.createTopics(List.of(topic)).all().get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TopicAuthorizationException || e.getCause() instanceof ClusterAuthorizationException) {
        LOG.warn("Not allowed to create topic {}; it is taken to exist", settings.topic());
      } else if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
    }
  }

  /**
   * The session's records after the known seq, read from the request's offset (or time) to the end
   * of its partition as it was when the reading started: the newest, and how many seqs before it
   * are missing. A record counts only under the epoch its seq has now; one of an epoch the stored
   * log no longer holds at that seq (Redis lost it) is not this log's event.
   */
  Reconciled newest(Reconcile request) throws TimeoutException {
    KafkaConsumer<String, String> reader = consumer();
    List<PartitionInfo> partitions = reader.partitionsFor(settings.topic());
    if (partitions == null || partitions.isEmpty()) {
      throw new IllegalStateException("topic " + settings.topic() + " has no partitions");
    }
    TopicPartition partition = new TopicPartition(settings.topic(),
        TopicScan.partitionOf(request.sessionId(), partitions.size()));
    long start = request.fromOffset();
    if (start < 0) {
      Map<TopicPartition, OffsetAndTimestamp> found = reader.offsetsForTimes(
          Map.of(partition, Math.max(0, request.fromTimeMs())));
      OffsetAndTimestamp at = found.get(partition);
      start = at == null ? reader.endOffsets(List.of(partition)).get(partition) : at.offset();
    }
    EpochHistory epochs = EpochHistory.parse(request.epochs());
    TreeMap<Long, Long> offsetBySeq = new TreeMap<>();
    TopicScan.readToEnd(reader, Map.of(partition, start), record -> {
      if (!request.sessionId().equals(record.key())) {
        return;
      }
      JsonObject value = new JsonObject(record.value());
      Long seq = value.getLong("seq");
      if (seq != null && seq > request.knownSeq() && epochs.epochOf(seq).equals(value.getString("epoch"))) {
        offsetBySeq.put(seq, record.offset());
      }
    }, STALL, () -> { });
    if (offsetBySeq.isEmpty()) {
      return new Reconciled(request.knownSeq(), -1, 0);
    }
    long last = offsetBySeq.lastKey();
    // Without chunk records the seqs between are expected to be absent: nothing can be counted missing.
    long missing = settings.chunks() ? last - request.knownSeq() - offsetBySeq.size() : 0;
    return new Reconciled(last, offsetBySeq.get(last), missing);
  }

  private KafkaConsumer<String, String> consumer() {
    if (consumer == null) {
      Properties props = new Properties();
      props.put("bootstrap.servers", settings.bootstrap());
      props.put("enable.auto.commit", "false");
      props.put("allow.auto.create.topics", "false");
      props.put("default.api.timeout.ms", "10000");
      props.put("request.timeout.ms", "5000");
      props.put("max.poll.records", "2000");
      props.put("client.id", "streamchat-audit-reader");
      props.putAll(settings.clientProperties());
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
