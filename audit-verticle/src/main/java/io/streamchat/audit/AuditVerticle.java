package io.streamchat.audit;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand;
import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Delivery;
import io.streamchat.protocol.AuditCommand.Outcome;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.SessionDeleted;
import io.streamchat.protocol.AuditCommand.Ship;
import io.streamchat.protocol.AuditCommand.Shipped;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.NodeSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.kafka.client.producer.KafkaProducer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.ByteBufferOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's writer of the Kafka audit log: one idempotent producer ({@code acks=all}) that
 * retries each record for CHAT_KAFKA_DELIVERY_TIMEOUT_MS, so a Kafka outage shorter than that
 * costs nothing but delay; and a reader of the topic for the session verticles that must learn
 * which records of a session arrived ({@link TopicReader}). The session verticles decide what is
 * written and in which order; this verticle only carries it, and reports each record's fate.
 */
public final class AuditVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AuditVerticle.class);
  /** How long the producer may wait for the topic's metadata or buffer space before a send fails. */
  private static final long MAX_BLOCK_MS = 1000;
  /** Largest record: a whole answer of CHAT_MAX_ANSWER_CHARS fits (the broker must allow it too). */
  static final int MAX_RECORD_BYTES = 64 << 20;

  private AuditSettings settings;
  private String nodeId;
  private KafkaProducer<String, String> producer;
  private Producer<String, String> kafka;
  private TopicReader reader;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile long lastFailureLogMs;
  /** Nothing is sent before the topic exists as configured: the broker would create it with its own defaults. */
  private volatile boolean topicReady;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    ConfigSource config = ConfigSource.of(config());
    settings = AuditSettings.from(config);
    nodeId = NodeSettings.from(config).nodeId();
    reader = new TopicReader(settings);
    Metrics metrics = Metrics.of(vertx);
    metrics.gauge("chat_audit_in_flight_records", "Records handed to the Kafka producer and not yet acknowledged",
        inFlight::get);
    // Creating the producer resolves the bootstrap servers: not on the event loop.
    return vertx.executeBlocking(() -> KafkaProducer.<String, String>create(vertx, producerConfig(settings)))
        .compose(created -> {
          producer = created;
          kafka = created.unwrap();
          // A node starts even while Kafka is away: the audit log then waits (the first try is awaited).
          return ensureTopic(1).otherwiseEmpty();
        })
        .compose(v -> {
          MessageConsumer<AuditCommand> consumer = vertx.eventBus().localConsumer(Addresses.AUDIT, this::handle);
          return consumer.completion();
        });
  }

  /** The topic with CHAT_KAFKA_PARTITIONS, before the broker could make one with its defaults; retried while Kafka is away. */
  private Future<Void> ensureTopic(int attempt) {
    return vertx.<Void>executeBlocking(() -> {
      reader.ensureTopic();
      return null;
    }, false).onSuccess(v -> topicReady = true).onFailure(e -> {
      if (attempt == 1) {
        LOG.warn("Could not make sure topic {} exists ({}); trying again while the audit log waits", settings.topic(),
            e.toString());
      }
      vertx.setTimer(Math.min(30_000, 1000L * attempt), id -> ensureTopic(attempt + 1));
    });
  }

  @Override
  public Future<?> stop() {
    if (producer == null) {
      return Future.succeededFuture();
    }
    // Records in flight are given the time the producer has for them; then it closes.
    return producer.flush().transform(v -> producer.close(settings.deliveryTimeoutMs()))
        .transform(v -> vertx.executeBlocking(() -> {
          reader.close();
          return null;
        }));
  }

  /**
   * Whether zstd compresses here: its codec is a native library, unpacked to the temporary folder,
   * with no Java fallback (a folder mounted noexec stops it). zstd reuses its buffers and compresses
   * chat text better than lz4, which allocates two 64 KB block buffers for every batch (about 9 KB
   * per event with batches of 5 ms); lz4 falls back to Java where its native code cannot load.
   * Tried once, when the first producer's config is made (off the event loop), unless the operator
   * chose the compression.
   */
  private static final class Zstd {
    static final boolean LOADS = zstdLoads();
  }

  private static boolean zstdLoads() {
    try (OutputStream out = CompressionType.ZSTD.wrapForOutput(new ByteBufferOutputStream(64),
        RecordBatch.CURRENT_MAGIC_VALUE)) {
      out.write(0);
      return true;
    } catch (IOException | RuntimeException | LinkageError unavailable) {
      // Kafka wraps a library that does not load in a KafkaException.
      LOG.warn("zstd cannot load here ({}): this node writes the audit log with lz4, and cannot read what nodes "
          + "that load zstd wrote; let the temporary folder run native code, or set "
          + "CHAT_KAFKA_CLIENT_COMPRESSION_TYPE=lz4 on every node", unavailable.toString());
      return false;
    }
  }

  /** Called off the event loop. */
  static Map<String, String> producerConfig(AuditSettings settings) {
    // The operator's properties first (security; the compression may be chosen); those that make
    // the writes exactly-once, and the timing they depend on, cannot be overridden.
    Map<String, String> config = new HashMap<>(settings.clientProperties());
    config.put("bootstrap.servers", settings.bootstrap());
    config.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    config.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    config.put("acks", "all");
    config.put("enable.idempotence", "true");
    config.put("max.in.flight.requests.per.connection", "5");
    config.put("retries", Integer.toString(Integer.MAX_VALUE));
    config.put("linger.ms", "5");
    if (!config.containsKey("compression.type")) {
      config.put("compression.type", Zstd.LOADS ? "zstd" : "lz4");
    }
    long delivery = settings.deliveryTimeoutMs();
    config.put("request.timeout.ms", Long.toString(Math.min(10_000, delivery / 3)));
    config.put("delivery.timeout.ms", Long.toString(delivery));
    config.put("max.block.ms", Long.toString(MAX_BLOCK_MS));
    config.put("max.request.size", Integer.toString(MAX_RECORD_BYTES));
    config.put("client.id", "streamchat-audit");
    return config;
  }

  private void handle(Message<AuditCommand> message) {
    AuditCommand command = message.body();
    if (command instanceof Ship ship) {
      ship(ship).onSuccess(message::reply);
    } else if (command instanceof Reconcile reconcile) {
      vertx.executeBlocking(() -> reader.newest(reconcile), true).onComplete(result -> {
        if (result.succeeded()) {
          message.reply(result.result());
        } else {
          LOG.atWarn().addKeyValue("session_id", reconcile.sessionId())
              .log("Reading the audit log for session {} failed: {}", reconcile.sessionId(), result.cause().toString());
          message.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
        }
      });
    } else if (command instanceof AuditCommand.Ping) {
      // Asks the brokers for the topic's partitions (at most MAX_BLOCK_MS), beside the shipments.
      vertx.executeBlocking(() -> !kafka.partitionsFor(settings.topic()).isEmpty(), false).onComplete(result -> {
        if (result.succeeded() && result.result()) {
          message.reply(true);
        } else {
          message.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
        }
      });
    } else if (command instanceof SessionDeleted deleted) {
      AuditRecord record = new AuditRecord(deleted.sessionId(), 0, "session_deleted", deletedValue(deleted), null);
      ship(new Ship(List.of(record), System.currentTimeMillis()))
          .onSuccess(shipped -> message.reply(shipped.deliveries().get(0)));
    }
  }

  /**
   * Hands the records to the producer in order, off the event loop, while the batch is fresh: after
   * a pause, or a send that could not get the topic's metadata, the rest are not sent at all (and
   * reported so), so that no record of this node lands long after its owner stopped waiting for it.
   */
  private Future<Shipped> ship(Ship ship) {
    List<AuditRecord> records = ship.records();
    if (records.isEmpty()) {
      return Future.succeededFuture(new Shipped(List.of()));
    }
    Delivery[] deliveries = new Delivery[records.size()];
    AtomicInteger pending = new AtomicInteger(records.size());
    Promise<Shipped> shipped = Promise.promise();
    Runnable settledOne = () -> {
      inFlight.decrementAndGet();
      if (pending.decrementAndGet() == 0) {
        // The last acknowledgement comes on Kafka's I/O thread: the reply goes from this verticle's context.
        context.runOnContext(v -> shipped.complete(new Shipped(Arrays.asList(deliveries))));
      }
    };
    vertx.executeBlocking(() -> {
      boolean sending = true;
      for (int i = 0; i < records.size(); i++) {
        int index = i;
        AuditRecord record = records.get(i);
        inFlight.incrementAndGet();
        sending = sending && topicReady && System.currentTimeMillis() - ship.createdAtMs() <= Ship.MAX_AGE_MS;
        if (!sending) {
          deliveries[index] = Delivery.NOT_SENT;
          settledOne.run();
          continue;
        }
        try {
          kafka.send(producerRecord(record), (metadata, failure) -> {
            deliveries[index] = failure == null
                ? new Delivery(Outcome.WRITTEN, metadata.partition(), metadata.offset())
                : failed(record, failure);
            settledOne.run();
          });
        } catch (RuntimeException notSent) {
          // No metadata or no buffer space within MAX_BLOCK_MS: this record and the rest stay unsent.
          failed(record, notSent);
          deliveries[index] = Delivery.NOT_SENT;
          sending = false;
          settledOne.run();
        }
      }
      return null;
    }, true);
    return shipped.future();
  }

  private ProducerRecord<String, String> producerRecord(AuditRecord record) {
    ProducerRecord<String, String> kafkaRecord = new ProducerRecord<>(settings.topic(), record.sessionId(),
        record.value());
    kafkaRecord.headers().add(new RecordHeader("type", record.type().getBytes(StandardCharsets.UTF_8)));
    if (record.message() != null) {
      kafkaRecord.headers().add(new RecordHeader("message", record.message().getBytes(StandardCharsets.UTF_8)));
    }
    return kafkaRecord;
  }

  /** Refused for good when no retry can help (too large, not serializable); otherwise not known. */
  private Delivery failed(AuditRecord record, Throwable failure) {
    boolean never = failure instanceof RecordTooLargeException || failure instanceof RecordBatchTooLargeException
        || failure instanceof SerializationException || failure instanceof InvalidTopicException;
    long now = System.currentTimeMillis();
    if (never || now - lastFailureLogMs > 5000) {
      lastFailureLogMs = now;
      LOG.atWarn().addKeyValue("session_id", record.sessionId())
          .log("Kafka did not take record {} of session {}: {}", record.seq(), record.sessionId(), failure.toString());
    }
    return never ? Delivery.REFUSED : Delivery.UNKNOWN;
  }

  private String deletedValue(SessionDeleted deleted) {
    StringBuilder value = new StringBuilder("{\"type\":\"session_deleted\",\"session_id\":");
    JsonText.quote(value, deleted.sessionId()).append(",\"user_id\":");
    (deleted.userId() == null ? value.append("null") : JsonText.quote(value, deleted.userId())).append(",\"node_id\":");
    JsonText.quote(value, nodeId).append(",\"deleted_at\":");
    return JsonText.quote(value, Instant.ofEpochMilli(deleted.deletedAtMs()).toString()).append('}').toString();
  }
}
