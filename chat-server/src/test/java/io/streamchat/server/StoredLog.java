package io.streamchat.server;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/** Reads a session's stored event log straight from Redis, to compare it with what clients saw. */
final class StoredLog {

  private StoredLog() {
  }

  /**
   * The stored log once it holds event {@code seq}: a client sees an event before its owner has
   * stored it (live delivery does not wait for Redis).
   */
  static List<JsonObject> readThrough(Vertx vertx, String redisUrl, String sessionId, long seq) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      List<JsonObject> events = read(vertx, redisUrl, sessionId);
      if (!events.isEmpty() && events.get(events.size() - 1).getLong("seq") >= seq
          || System.currentTimeMillis() > deadline) {
        return events;
      }
      Thread.sleep(20);
    }
  }

  static List<JsonObject> read(Vertx vertx, String redisUrl, String sessionId) {
    Redis client = Redis.createClient(vertx, redisUrl);
    try {
      List<JsonObject> events = new ArrayList<>();
      for (Response entry : RedisAPI.api(client).xrange(List.of("chat:{" + sessionId + "}:log", "-", "+")).await()) {
        Response fields = entry.get(1);
        for (int i = 0; i < fields.size(); i += 2) {
          if ("event".equals(fields.get(i).toString())) {
            events.add(new JsonObject(fields.get(i + 1).toString()));
          }
        }
      }
      return events;
    } finally {
      client.close();
    }
  }
}
