package io.streamchat.audit;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.utils.Utils;

/** Reading the audit topic back: where a session's records are, and partitions read to their end. Blocking. */
public final class TopicScan {

  private static final Duration POLL = Duration.ofMillis(500);

  private TopicScan() {
  }

  /** The partition of a session's records: the producer's default partitioner for a keyed record. */
  public static int partitionOf(String sessionId, int partitions) {
    return Utils.toPositive(Utils.murmur2(sessionId.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  /**
   * Reads each partition from its start offset to its end as it is now, handing every record to
   * {@code each}; {@code progress} runs after each poll. Fails when no record came for
   * {@code stall} while some were still due (Kafka is away).
   */
  public static void readToEnd(KafkaConsumer<String, String> consumer, Map<TopicPartition, Long> from,
                               Consumer<ConsumerRecord<String, String>> each, Duration stall, Runnable progress)
      throws TimeoutException {
    consumer.assign(from.keySet());
    Map<TopicPartition, Long> end = consumer.endOffsets(from.keySet());
    from.forEach(consumer::seek);
    long lastProgressNs = System.nanoTime();
    try {
      while (from.keySet().stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        boolean any = false;
        for (ConsumerRecord<String, String> record : consumer.poll(POLL)) {
          if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition()))) {
            any = true;
            each.accept(record);
          }
        }
        progress.run();
        if (any) {
          lastProgressNs = System.nanoTime();
        } else if (System.nanoTime() - lastProgressNs > stall.toNanos()) {
          throw new TimeoutException("no record of " + from.keySet() + " came for " + stall.toMillis() + " ms");
        }
      }
    } finally {
      consumer.assign(java.util.List.of());
    }
  }

  public static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }
}
