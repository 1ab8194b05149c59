package io.streamchat.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditCommand.SessionDeleted;
import io.streamchat.protocol.AuditCommand.Ship;
import io.streamchat.protocol.AuditCommand.Shipped;
import io.streamchat.protocol.AuditCommand.Delivery;
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
    Shipped shipped = vertx.eventBus().<Shipped>request(Addresses.AUDIT, new Ship(records, System.currentTimeMillis()))
        .await().body();
    assertThat(shipped.deliveries()).hasSize(40).allMatch(Delivery::written);

    List<ConsumerRecord<String, String>> alpha = readAll().stream().filter(r -> r.key().equals("alpha")).toList();
    assertThat(alpha).hasSize(20);
    for (int i = 0; i < alpha.size(); i++) {
      assertThat(new JsonObject(alpha.get(i).value()).getLong("seq")).isEqualTo(i + 1L);
      assertThat(new String(alpha.get(i).headers().lastHeader("type").value())).isEqualTo("chunk");
    }

    Reconciled newest = reconcile(new Reconcile("alpha", "1:e1,11:e2", 0, -1, 0));
    assertThat(newest).isEqualTo(new Reconciled(20, shipped.deliveries().get(38).offset(), 0));
    Reconciled afterKnown = reconcile(new Reconcile("alpha", "1:e1,11:e2", 12, shipped.deliveries().get(0).offset(), -1));
    assertThat(afterKnown.lastSeq()).isEqualTo(20);
    Reconciled otherEpochs = reconcile(new Reconcile("alpha", "1:e1,11:e9", 0, -1, 0));
    assertThat(otherEpochs.lastSeq()).as("records of an epoch the log no longer has at their seq do not count")
        .isEqualTo(10);
    Reconciled none = reconcile(new Reconcile("gamma", "1:e1", 0, -1, 0));
    assertThat(none).isEqualTo(new Reconciled(0, -1, 0));
  }

  @Test
  void recordsOfAStaleBatchAreNotSent() {
    Shipped shipped = vertx.eventBus().<Shipped>request(Addresses.AUDIT,
        new Ship(List.of(record("stale", 1, "e1")), System.currentTimeMillis() - Ship.MAX_AGE_MS - 1)).await().body();
    assertThat(shipped.deliveries()).containsExactly(Delivery.NOT_SENT);
    assertThat(readAll()).noneMatch(r -> r.key().equals("stale"));
  }

  @Test
  void aGapIsReportedAsMissing() {
    List<AuditRecord> records = List.of(record("delta-gap", 1, "e1"), record("delta-gap", 2, "e1"),
        record("delta-gap", 5, "e1"));
    vertx.eventBus().<Shipped>request(Addresses.AUDIT, new Ship(records, System.currentTimeMillis())).await();
    Reconciled found = reconcile(new Reconcile("delta-gap", "1:e1", 0, -1, 0));
    assertThat(found.lastSeq()).isEqualTo(5);
    assertThat(found.missing()).isEqualTo(2);
  }

  @Test
  void aRecordTheBrokerRefusesForGoodIsReportedSoAndTheNextOneIsWritten() throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", kafka.bootstrap());
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
      admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("audit-small", 1, (short) 1)
          .configs(java.util.Map.of("max.message.bytes", "2000")))).all().get();
    }
    Vertx small = Vertx.vertx();
    try {
      Codecs.register(small);
      small.deployVerticle(new AuditVerticle(), new DeploymentOptions().setConfig(new JsonObject()
          .put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap()).put("CHAT_NODE_ID", "n2")
          .put("CHAT_KAFKA_TOPIC", "audit-small"))).await();
      byte[] noise = new byte[50_000];
      new java.util.Random(7).nextBytes(noise);
      // Random text: compression cannot bring it under the topic's limit.
      AuditRecord huge = new AuditRecord("epsilon", 1, "complete", "{\"seq\":1,\"content\":\""
          + java.util.Base64.getEncoder().encodeToString(noise) + "\"}", null);
      Shipped shipped = small.eventBus().<Shipped>request(Addresses.AUDIT,
          new Ship(List.of(huge, record("epsilon", 2, "e1")), System.currentTimeMillis())).await().body();
      assertThat(shipped.deliveries().get(0)).isEqualTo(Delivery.REFUSED);
      assertThat(shipped.deliveries().get(1).written()).isTrue();
    } finally {
      small.close().await();
    }
  }

  private static Reconciled reconcile(Reconcile request) {
    return vertx.eventBus().<Reconciled>request(Addresses.AUDIT, request).await().body();
  }

  @Test
  void aDeletionIsRecorded() {
    Delivery written = vertx.eventBus().<Delivery>request(Addresses.AUDIT,
        new SessionDeleted("delta", "u", 1_700_000_000_000L)).await().body();
    assertThat(written.written()).isTrue();
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
