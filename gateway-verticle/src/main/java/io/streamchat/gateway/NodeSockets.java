package io.streamchat.gateway;

import io.vertx.core.Vertx;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The sockets open on a node, counted across its gateway instances (one per event loop). */
final class NodeSockets {

  private static final Map<Vertx, AtomicInteger> COUNTS = new WeakHashMap<>();

  private NodeSockets() {
  }

  static synchronized AtomicInteger of(Vertx vertx) {
    return COUNTS.computeIfAbsent(vertx, v -> new AtomicInteger());
  }
}
