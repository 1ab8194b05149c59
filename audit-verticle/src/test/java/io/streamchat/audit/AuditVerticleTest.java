package io.streamchat.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditCommand.SessionDeleted;
import io.streamchat.protocol.AuditCommand.Ship;
import io.streamchat.protocol.AuditCommand.Shipped;
import io.streamchat.protocol.AuditCommand.Written;
import io.streamchat.protocol.Codecs;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The audit verticle against a real single-node Kafka. */
class AuditVerticleTest {

  private static EmbeddedKafka kafka;
  private static Vertx vertx;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start();
    vertx = Vertx.vertx();
    Codecs.register(vertx);
    JsonObject config = new JsonObject().put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap()).put("CHAT_NODE_ID", "n1")
        .put("CHAT_KAFKA_TOPIC", "audit-test").put("CHAT_KAFKA_PARTITIONS", 3);
    vertx.deployVerticle(new AuditVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    kafka.close();
  }

  private static AuditRecord record(String session, long seq, String epoch) {
    return new AuditRecord(session, seq, "chunk", "{\"session_id\":\"" + session + "\",\"user_id\":\"u\",\"node_id\":\"n1\","
        + "\"epoch\":\"" + epoch + "\",\"type\":\"chunk\",\"seq\":" + seq + "}", null);
  }

  @Test
  void recordsAreWrittenInOrderKeyedBySessionAndTheNewestIsFoundAgain() {
    List<AuditRecord> records = new ArrayList<>();
    for (int seq = 1; seq <= 20; seq++) {
      records.add(record("alpha", seq, seq <= 10 ? "e1" : "e2"));
      records.add(record("beta", seq, "b1"));
    }
    Shipped shipped = vertx.eventBus().<Shipped>request(Addresses.AUDIT, new Ship(records)).await().body();
    assertThat(shipped.results()).hasSize(40).allMatch(Written::succeeded);

    List<ConsumerRecord<String, String>> alpha = readAll().stream().filter(r -> r.key().equals("alpha")).toList();
    assertThat(alpha).hasSize(20);
    for (int i = 0; i < alpha.size(); i++) {
      assertThat(new JsonObject(alpha.get(i).value()).getLong("seq")).isEqualTo(i + 1L);
      assertThat(new String(alpha.get(i).headers().lastHeader("type").value())).isEqualTo("chunk");
    }

    Reconciled newest = vertx.eventBus().<Reconciled>request(Addresses.AUDIT,
        new Reconcile("alpha", List.of("e1", "e2"), -1, 0)).await().body();
    assertThat(newest.lastSeq()).isEqualTo(20);
    assertThat(newest.offset()).isEqualTo(shipped.results().get(38).offset());
    Reconciled firstEpochOnly = vertx.eventBus().<Reconciled>request(Addresses.AUDIT,
        new Reconcile("alpha", List.of("e1"), shipped.results().get(0).offset(), -1)).await().body();
    assertThat(firstEpochOnly.lastSeq()).isEqualTo(10);
    Reconciled none = vertx.eventBus().<Reconciled>request(Addresses.AUDIT,
        new Reconcile("gamma", List.of("e1"), -1, 0)).await().body();
    assertThat(none.lastSeq()).isZero();
    assertThat(none.offset()).isEqualTo(-1);
  }

  @Test
  void aDeletionIsRecorded() {
    Written written = vertx.eventBus().<Written>request(Addresses.AUDIT,
        new SessionDeleted("delta", "u", 1_700_000_000_000L)).await().body();
    assertThat(written.succeeded()).isTrue();
    ConsumerRecord<String, String> record = readAll().stream().filter(r -> r.key().equals("delta")).findFirst().orElseThrow();
    JsonObject value = new JsonObject(record.value());
    assertThat(value.getString("type")).isEqualTo("session_deleted");
    assertThat(value.getString("user_id")).isEqualTo("u");
    assertThat(value.getString("node_id")).isEqualTo("n1");
    assertThat(value.getString("deleted_at")).isEqualTo("2023-11-14T22:13:20Z");
    assertThat(new String(record.headers().lastHeader("type").value())).isEqualTo("session_deleted");
  }

  private static List<ConsumerRecord<String, String>> readAll() {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrap());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new StringDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor("audit-test").stream()
          .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions);
      List<ConsumerRecord<String, String>> all = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        consumer.poll(Duration.ofMillis(200)).forEach(all::add);
      }
      return all;
    }
  }
}
