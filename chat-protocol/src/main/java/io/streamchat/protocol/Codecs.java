package io.streamchat.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;

/**
 * Event-bus codecs for the contract's records. Inside one JVM a record is passed as it is (records
 * are immutable); between nodes it travels as JSON.
 */
public final class Codecs {

  static final ObjectMapper MAPPER = new ObjectMapper()
      .setSerializationInclusion(JsonInclude.Include.NON_NULL)
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private static final Set<EventBus> REGISTERED = ConcurrentHashMap.newKeySet();

  private Codecs() {
  }

  /** Registers the codecs on this Vert.x instance's event bus; safe to call from every verticle. */
  public static void register(Vertx vertx) {
    EventBus eventBus = vertx.eventBus();
    if (!REGISTERED.add(eventBus)) {
      return;
    }
    for (Class<?> type : messageTypes()) {
      registerRecord(eventBus, type);
    }
  }

  static List<Class<?>> messageTypes() {
    List<Class<?>> types = new ArrayList<>();
    for (Class<?> family : List.of(SessionCommand.class, SessionReply.class, AiCommand.class, CacheCommand.class,
        DurableCommand.class, AuditCommand.class)) {
      types.addAll(List.of(family.getPermittedSubclasses()));
    }
    types.add(FrameBatch.class);
    types.add(CacheCommand.Claimed.class);
    types.add(CacheCommand.Appended.class);
    types.add(DurableCommand.Saved.class);
    types.add(DurableCommand.StoredConversation.class);
    types.add(DurableCommand.Conversations.class);
    types.add(DurableCommand.ConversationEntry.class);
    types.add(DurableCommand.Deleted.class);
    types.add(AuditCommand.Shipped.class);
    types.add(AuditCommand.Reconciled.class);
    types.add(AuditCommand.Delivery.class);
    types.add(CacheCommand.LogEvents.class);
    return types;
  }

  private static <T> void registerRecord(EventBus eventBus, Class<T> type) {
    eventBus.registerDefaultCodec(type, new RecordCodec<>(type));
  }

  static final class RecordCodec<T> implements MessageCodec<T, T> {
    private final Class<T> type;

    RecordCodec(Class<T> type) {
      this.type = type;
    }

    @Override
    public void encodeToWire(Buffer buffer, T value) {
      try {
        byte[] bytes = MAPPER.writeValueAsBytes(value);
        buffer.appendInt(bytes.length).appendBytes(bytes);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public T decodeFromWire(int pos, Buffer buffer) {
      int length = buffer.getInt(pos);
      try {
        return MAPPER.readValue(buffer.getBytes(pos + 4, pos + 4 + length), type);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public T transform(T value) {
      return value;
    }

    @Override
    public String name() {
      return type.getName();
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }
}
