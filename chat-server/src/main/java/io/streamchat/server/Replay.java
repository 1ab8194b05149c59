package io.streamchat.server;

import io.streamchat.cache.CacheVerticle;
import io.streamchat.durable.DurableVerticle;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand.Claim;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.Holds;
import io.streamchat.protocol.CacheCommand.Release;
import io.streamchat.protocol.CacheCommand.Seed;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.EpochHistory;
import io.streamchat.audit.TopicScan;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * {@code replay [--session S | --all] [--from ISO-8601] [--to ISO-8601]}: rebuilds PostgreSQL and
 * Redis from the audit topic. Every message the records carry is written to the durable tier
 * (by message id, so a second run changes nothing); a conversation Redis does not hold gets its
 * history there too, as an activation from the durable tier would; a conversation whose last
 * record is its deletion is deleted. Conversations Redis holds are live state and are left alone.
 */
final class Replay {

  static final String USAGE = "usage: replay (--session <id> | --all) [--from <ISO-8601>] [--to <ISO-8601>]";
  private static final long PROGRESS_EVERY_MS = 2000;

  /** What to replay: one session or all ({@code sessionId} null), records from {@code from} to {@code to}. */
  record Options(String sessionId, Instant from, Instant to) {

    static Options parse(String[] args) {
      String session = null;
      boolean all = false;
      Instant from = Instant.EPOCH;
      Instant to = Instant.MAX;
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "--all" -> all = true;
          case "--session" -> session = value(args, ++i, arg);
          case "--from" -> from = time(value(args, ++i, arg));
          case "--to" -> to = time(value(args, ++i, arg));
          default -> throw new IllegalArgumentException("unknown argument " + arg);
        }
      }
      if (all == (session != null)) {
        throw new IllegalArgumentException("name one session (--session) or all of them (--all)");
      }
      if (from.isAfter(to)) {
        throw new IllegalArgumentException("--from is after --to");
      }
      return new Options(session, from, to);
    }

    private static String value(String[] args, int i, String name) {
      if (i >= args.length || args[i].startsWith("--")) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      return args[i];
    }

    private static Instant time(String text) {
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("not an ISO-8601 time (e.g. 2026-11-28T10:00:00Z): " + text);
      }
    }
  }

  /** What a run did. */
  record Outcome(long records, int conversations, int durable, int cached, int deleted) {
  }

  private final ConfigSource config;
  private final PrintStream out;

  Replay(ConfigSource config, PrintStream out) {
    this.config = config;
    this.out = out;
  }

  /**
   * The services to rebuild, as the node names them; unset, those the laptop node embeds on their
   * default ports (it must be running).
   */
  Outcome run(Options options) throws Exception {
    String bootstrap = config.string("CHAT_KAFKA_BOOTSTRAP", "127.0.0.1:" + config.integer("CHAT_EMBEDDED_KAFKA_PORT", 9092));
    if ("none".equalsIgnoreCase(bootstrap)) {
      throw new IllegalArgumentException("CHAT_KAFKA_BOOTSTRAP is none: there is no audit log to replay");
    }
    String topic = config.string("CHAT_KAFKA_TOPIC", "chat.events");
    String dbUrl = config.string("CHAT_DB_URL",
        "postgresql://postgres@127.0.0.1:" + config.integer("CHAT_EMBEDDED_DB_PORT", 5433) + "/postgres");
    String redisUrl = config.string("CHAT_REDIS_URL", "redis://127.0.0.1:" + config.integer("CHAT_EMBEDDED_REDIS_PORT", 6390));
    ConversationRebuild rebuild = read(bootstrap, topic, options);
    Vertx vertx = Vertx.vertx();
    try {
      Codecs.register(vertx);
      JsonObject settings = new JsonObject().put("CHAT_REDIS_URL", redisUrl).put("CHAT_DB_URL", dbUrl);
      vertx.deployVerticle(CacheVerticle::new, new DeploymentOptions().setConfig(settings)).await();
      boolean durable = !"none".equalsIgnoreCase(dbUrl);
      if (durable) {
        vertx.deployVerticle(DurableVerticle::new, new DeploymentOptions().setConfig(settings)).await();
      }
      return write(vertx, rebuild, durable);
    } finally {
      vertx.close().await();
    }
  }

  private ConversationRebuild read(String bootstrap, String topic, Options options) throws Exception {
    Properties props = new Properties();
    props.putAll(AuditSettings.clientProperties(config));
    props.put("bootstrap.servers", bootstrap);
    props.put("enable.auto.commit", "false");
    props.put("allow.auto.create.topics", "false");
    props.put("max.poll.records", "5000");
    props.put("client.id", "streamchat-replay");
    ConversationRebuild rebuild = new ConversationRebuild();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
        new StringDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      int count = consumer.partitionsFor(topic).size();
      if (options.sessionId() != null) {
        partitions.add(new TopicPartition(topic, TopicScan.partitionOf(options.sessionId(), count)));
      } else {
        for (int p = 0; p < count; p++) {
          partitions.add(new TopicPartition(topic, p));
        }
      }
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      Map<TopicPartition, Long> times = new HashMap<>();
      partitions.forEach(p -> times.put(p, options.from().toEpochMilli()));
      Map<TopicPartition, Long> from = new HashMap<>();
      long total = 0;
      for (Map.Entry<TopicPartition, OffsetAndTimestamp> start : consumer.offsetsForTimes(times).entrySet()) {
        long offset = start.getValue() == null ? end.get(start.getKey()) : start.getValue().offset();
        from.put(start.getKey(), offset);
        total += end.get(start.getKey()) - offset;
      }
      long toMs = options.to().equals(Instant.MAX) ? Long.MAX_VALUE : options.to().toEpochMilli();
      long[] read = {0, System.currentTimeMillis()};
      long all = total;
      TopicScan.readToEnd(consumer, from, record -> {
        read[0]++;
        if (record.timestamp() <= toMs && record.key() != null
            && (options.sessionId() == null || options.sessionId().equals(record.key()))) {
          rebuild.add(record.key(), TopicScan.header(record, "type"), record.value(), TopicScan.header(record, "message"),
              record.timestamp());
        }
      }, Duration.ofSeconds(60), () -> {
        if (System.currentTimeMillis() - read[1] > PROGRESS_EVERY_MS) {
          read[1] = System.currentTimeMillis();
          out.printf("replay: read %,d of %,d records, %,d conversations%n", read[0], all,
              rebuild.conversations().size());
        }
      });
      out.printf("replay: read %,d records of %,d conversations from %s%n", read[0], rebuild.conversations().size(),
          topic);
    }
    return rebuild;
  }

  private Outcome write(Vertx vertx, ConversationRebuild rebuild, boolean durable) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(30_000);
    int toDurable = 0;
    int toCache = 0;
    int deleted = 0;
    int done = 0;
    long lastProgressMs = System.currentTimeMillis();
    for (ConversationRebuild.Conversation conversation : rebuild.conversations()) {
      if (conversation.deleted) {
        if (durable) {
          vertx.eventBus().request(Addresses.DURABLE, new DurableCommand.Delete(conversation.sessionId), options).await();
        }
        deleted++;
      } else if (!conversation.messages.isEmpty()) {
        if (durable) {
          vertx.eventBus().request(Addresses.DURABLE, new DurableCommand.Save(conversation.writes()), options).await();
          toDurable++;
        }
        // A window of a conversation would hide the rest of it, which activation finds in PostgreSQL.
        if (conversation.whole && seedCache(vertx, conversation, options)) {
          toCache++;
        }
      }
      if (++done % 100 == 0 && System.currentTimeMillis() - lastProgressMs > PROGRESS_EVERY_MS) {
        lastProgressMs = System.currentTimeMillis();
        out.printf("replay: wrote %,d of %,d conversations%n", done, rebuild.conversations().size());
      }
    }
    Outcome outcome = new Outcome(rebuild.records(), rebuild.conversations().size(), toDurable, toCache, deleted);
    out.printf("replay: %,d records replayed; %,d conversations written to PostgreSQL, %,d restored in Redis, "
        + "%,d deleted%n", outcome.records(), outcome.durable(), outcome.cached(), outcome.deleted());
    return outcome;
  }

  /** A conversation Redis does not hold gets its history there, under a new epoch, released for its next owner. */
  private static boolean seedCache(Vertx vertx, ConversationRebuild.Conversation conversation, DeliveryOptions options) {
    boolean held = vertx.eventBus().<Boolean>request(Addresses.CACHE, new Holds(conversation.sessionId), options)
        .await().body();
    if (held) {
      return false;
    }
    Claimed claimed = vertx.eventBus().<Claimed>request(Addresses.CACHE, new Claim(conversation.sessionId,
        EpochHistory.newEpoch(), 1,
        conversation.messages.size()), options).await().body();
    List<String> ids = new ArrayList<>(conversation.messages.keySet());
    List<String> messages = new ArrayList<>(conversation.messages.values());
    vertx.eventBus().request(Addresses.CACHE, new Seed(conversation.sessionId, claimed.fence(), conversation.userId, ids,
        messages), options).await();
    vertx.eventBus().request(Addresses.CACHE, new Release(conversation.sessionId, claimed.fence()), options).await();
    return true;
  }
}
