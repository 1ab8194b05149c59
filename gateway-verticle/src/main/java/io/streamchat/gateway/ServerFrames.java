package io.streamchat.gateway;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/** The replies the gateway writes itself, without asking the session owner. */
final class ServerFrames {

  static final String HEARTBEAT_ACK = "{\"type\":\"heartbeat_ack\"}";
  static final String PONG = "{\"type\":\"pong\"}";

  private ServerFrames() {
  }

  /** {@code auth_ack}, with the new token's expiry when it has one. */
  static String authAck(long expiresAtMs) {
    JsonObject ack = new JsonObject().put("type", "auth_ack");
    if (expiresAtMs > 0) {
      ack.put("expires_at", Instant.ofEpochMilli(expiresAtMs).toString());
    }
    return ack.encode();
  }
}
