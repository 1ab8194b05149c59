package io.streamchat.testkit;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An internal consumer of {@code chat.events}, as any service of the cluster would write one: it
 * keeps the events of each session in the order they arrive. Each is the event as clients get it,
 * with {@code session_id} and {@code user_id} first.
 */
public final class ChatEventsTail extends VerticleBase {

  private final Map<String, List<JsonObject>> bySession = new ConcurrentHashMap<>();

  @Override
  public Future<?> start() {
    return vertx.eventBus().<String>consumer("chat.events", message -> {
      JsonObject event = new JsonObject(message.body());
      bySession.computeIfAbsent(event.getString("session_id"), id -> new CopyOnWriteArrayList<>()).add(event);
    }).completion();
  }

  public List<JsonObject> events(String sessionId) {
    return bySession.getOrDefault(sessionId, List.of());
  }
}
