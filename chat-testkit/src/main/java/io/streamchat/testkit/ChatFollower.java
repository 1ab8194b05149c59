package io.streamchat.testkit;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client that follows the protocol's rule: keep the highest seq applied and the epoch, apply an
 * event only if its seq is higher, take every history as a fresh snapshot. It records any gap
 * (an event applied that is not the next seq) so tests can prove exactly-once, in-order delivery.
 */
public final class ChatFollower {

  /** A message as the client has put it together. */
  public static final class Message {
    public final String id;
    public final String role;
    public final StringBuilder content = new StringBuilder();
    public String status;
    public int nextIndex;

    Message(String id, String role, String status) {
      this.id = id;
      this.role = role;
      this.status = status;
    }

    @Override
    public String toString() {
      String text = content.length() <= 80 ? content.toString() : content.substring(0, 40) + "…" + content.substring(content.length() - 40);
      return role + " " + id + " " + status + " (" + content.length() + " chars) \"" + text + "\"";
    }
  }

  private final Map<String, Message> messages = new LinkedHashMap<>();
  private final List<String> violations = new ArrayList<>();
  private long seq = -1;
  private String epoch;
  private int applied;
  private int skipped;

  public long seq() {
    return seq;
  }

  public String epoch() {
    return epoch;
  }

  public boolean hasCursor() {
    return epoch != null;
  }

  public int applied() {
    return applied;
  }

  public int skipped() {
    return skipped;
  }

  public List<String> violations() {
    return violations;
  }

  public Map<String, Message> messages() {
    return messages;
  }

  public Message message(String id) {
    return messages.get(id);
  }

  /** The latest assistant message this client has seen; fails when it has seen none. */
  public Message lastAnswer() {
    return messages.values().stream().filter(m -> m.role.equals("assistant")).reduce((a, b) -> b)
        .orElseThrow(() -> new IllegalStateException("no answer seen yet"));
  }

  public void apply(JsonObject frame) {
    String type = frame.getString("type");
    if ("history".equals(type)) {
      snapshot(frame);
      return;
    }
    Long eventSeq = frame.getLong("seq");
    if (eventSeq == null || "recovery_status".equals(type)) {
      return;
    }
    if (eventSeq <= seq) {
      skipped++;
      return;
    }
    if (eventSeq != seq + 1) {
      violations.add("gap: applied seq " + eventSeq + " after " + seq);
    }
    seq = eventSeq;
    applied++;
    String id = frame.getString("message_id");
    switch (type) {
      case "user_message" -> {
        Message message = new Message(id, "user", "completed");
        message.content.append(frame.getString("content"));
        messages.put(id, message);
      }
      case "stream_start" -> messages.put(id, new Message(id, "assistant", "streaming"));
      case "chunk" -> {
        Message message = messages.get(id);
        if (message == null) {
          violations.add("chunk of unknown message " + id + " at seq " + eventSeq);
          return;
        }
        if (frame.getInteger("index") != message.nextIndex) {
          violations.add("chunk index " + frame.getInteger("index") + " where " + message.nextIndex + " was due");
        }
        if (!"streaming".equals(message.status)) {
          violations.add("chunk after complete of " + id);
        }
        message.nextIndex++;
        message.content.append(frame.getString("content"));
      }
      case "complete" -> {
        Message message = messages.get(id);
        if (message == null) {
          violations.add("complete of unknown message " + id);
          return;
        }
        if (!message.content.toString().equals(frame.getString("content"))) {
          violations.add("complete content of " + id + " differs from its chunks");
        }
        if (frame.getInteger("total_chunks") != message.nextIndex) {
          violations.add("total_chunks " + frame.getInteger("total_chunks") + " but " + message.nextIndex + " chunks");
        }
        message.status = frame.getString("status");
      }
      default -> violations.add("unknown event type " + type);
    }
  }

  private void snapshot(JsonObject history) {
    messages.clear();
    seq = history.getLong("seq");
    epoch = history.getString("epoch");
    JsonArray list = history.getJsonArray("messages");
    for (int i = 0; i < list.size(); i++) {
      JsonObject json = list.getJsonObject(i);
      Message message = new Message(json.getString("message_id"), json.getString("role"), json.getString("status"));
      message.content.append(json.getString("content"));
      message.nextIndex = json.getInteger("total_chunks", 0);
      messages.put(message.id, message);
    }
  }
}
