package io.streamchat.audit;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand;
import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.SessionDeleted;
import io.streamchat.protocol.AuditCommand.Ship;
import io.streamchat.protocol.AuditCommand.Shipped;
import io.streamchat.protocol.AuditCommand.Written;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.NodeSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's writer of the Kafka audit log: one idempotent producer ({@code acks=all}) that
 * retries each record for CHAT_KAFKA_DELIVERY_TIMEOUT_MS, so a Kafka outage shorter than that
 * costs nothing but delay; and a reader of the topic for the session verticles that must learn
 * what an earlier owner wrote ({@link TopicReader}). The session verticles decide what is
 * written and in which order; this verticle only carries it.
 */
public final class AuditVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AuditVerticle.class);

  private AuditSettings settings;
  private String nodeId;
  private KafkaProducer<String, String> producer;
  private TopicReader reader;
  private final AtomicInteger inFlight = new AtomicInteger();
  private long lastFailureLogMs;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    ConfigSource config = ConfigSource.of(config());
    settings = AuditSettings.from(config);
    nodeId = NodeSettings.from(config).nodeId();
    producer = KafkaProducer.create(vertx, producerConfig(settings));
    reader = new TopicReader(vertx, settings);
    Metrics metrics = Metrics.of(vertx);
    metrics.gauge("chat_audit_in_flight_records", "Records handed to the Kafka producer and not yet acknowledged",
        inFlight::get);
    vertx.executeBlocking(() -> {
      reader.ensureTopic();
      return null;
    }, false).onFailure(e -> LOG.warn("Could not make sure topic {} exists ({}); the broker may create it on first "
        + "write", settings.topic(), e.toString()));
    MessageConsumer<AuditCommand> consumer = vertx.eventBus().localConsumer(Addresses.AUDIT, this::handle);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    // Records in flight are given the time the producer has for them; then it closes.
    Future<Void> flushed = producer.flush();
    return flushed.transform(v -> producer.close(settings.deliveryTimeoutMs()))
        .transform(v -> vertx.executeBlocking(() -> {
          reader.close();
          return null;
        }));
  }

  static Map<String, String> producerConfig(AuditSettings settings) {
    Map<String, String> config = new HashMap<>();
    config.put("bootstrap.servers", settings.bootstrap());
    config.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    config.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    config.put("acks", "all");
    config.put("enable.idempotence", "true");
    config.put("max.in.flight.requests.per.connection", "5");
    config.put("retries", Integer.toString(Integer.MAX_VALUE));
    config.put("linger.ms", "5");
    long delivery = settings.deliveryTimeoutMs();
    config.put("request.timeout.ms", Long.toString(Math.min(10_000, Math.max(1000, delivery / 3))));
    config.put("delivery.timeout.ms", Long.toString(delivery));
    config.put("max.block.ms", Long.toString(delivery));
    config.put("client.id", "streamchat-audit");
    return config;
  }

  private void handle(Message<AuditCommand> message) {
    AuditCommand command = message.body();
    if (command instanceof Ship ship) {
      ship(ship.records()).onSuccess(message::reply);
    } else if (command instanceof Reconcile reconcile) {
      vertx.executeBlocking(() -> reader.newest(reconcile), true).onComplete(result -> {
        if (result.succeeded()) {
          message.reply(result.result());
        } else {
          LOG.warn("Reading the audit log for session {} failed: {}", reconcile.sessionId(), result.cause().toString());
          message.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
        }
      });
    } else if (command instanceof SessionDeleted deleted) {
      send(deleted.sessionId(), "session_deleted", deletedValue(deleted), null).onSuccess(message::reply);
    }
  }

  /** Every record, in order; each outcome once Kafka acknowledged or the producer gave up on it. */
  private Future<Shipped> ship(List<AuditRecord> records) {
    List<Future<Written>> outcomes = new ArrayList<>(records.size());
    for (AuditRecord record : records) {
      outcomes.add(send(record.sessionId(), record.type(), record.value(), record.message()));
    }
    return Future.join(outcomes).transform(v -> {
      List<Written> results = new ArrayList<>(outcomes.size());
      for (Future<Written> outcome : outcomes) {
        results.add(outcome.result());
      }
      return Future.succeededFuture(new Shipped(results));
    });
  }

  private Future<Written> send(String sessionId, String type, String value, String message) {
    KafkaProducerRecord<String, String> record = KafkaProducerRecord.create(settings.topic(), sessionId, value)
        .addHeader("type", type);
    if (message != null) {
      record.addHeader("message", message);
    }
    inFlight.incrementAndGet();
    return producer.send(record)
        .map(metadata -> new Written((int) metadata.getPartition(), metadata.getOffset()))
        .otherwise(failure -> {
          long now = System.currentTimeMillis();
          if (now - lastFailureLogMs > 5000) {
            lastFailureLogMs = now;
            LOG.warn("Kafka did not take a record of session {}: {}", sessionId, failure.toString());
          }
          return new Written(-1, -1);
        })
        .onComplete(v -> inFlight.decrementAndGet());
  }

  private String deletedValue(SessionDeleted deleted) {
    StringBuilder value = new StringBuilder("{\"type\":\"session_deleted\",\"session_id\":");
    JsonText.quote(value, deleted.sessionId()).append(",\"user_id\":");
    (deleted.userId() == null ? value.append("null") : JsonText.quote(value, deleted.userId())).append(",\"node_id\":");
    JsonText.quote(value, nodeId).append(",\"deleted_at\":");
    return JsonText.quote(value, Instant.ofEpochMilli(deleted.deletedAtMs()).toString()).append('}').toString();
  }
}
