package io.streamchat.ai;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AiCommand;
import io.streamchat.protocol.AiCommand.Generate;
import io.streamchat.protocol.AiCommand.StopGeneration;
import io.streamchat.protocol.AiCommand.TokensTaken;
import io.streamchat.protocol.AiCommand.AnswerStored;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.Membership;
import io.streamchat.protocol.Nearest;
import io.streamchat.client.SessionClient;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs answers: takes generation requests from any session owner, streams each answer from the
 * configured provider to the owner through a {@link Relay}, and stops an answer when told to.
 */
public final class AiBridgeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(AiBridgeVerticle.class);

  private final Map<String, Relay> relays = new HashMap<>();
  private final Map<String, Long> endedAt = new HashMap<>();
  private AiSettings settings;
  private Provider provider;
  private SessionClient sessions;
  private String address;
  private List<MessageConsumer<Generate>> generateConsumers;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    ConfigSource config = ConfigSource.of(config());
    settings = AiSettings.from(config);
    provider = switch (settings.provider()) {
      case "demo" -> new DemoProvider(vertx, settings);
      case "openai" -> new OpenAiProvider(vertx, settings);
      default -> throw new IllegalArgumentException("CHAT_AI_PROVIDER must be demo or openai, got " + settings.provider());
    };
    sessions = new SessionClient(vertx, settings.deliveryTimeoutMs());
    // The owner of an answer learns from the address which node generates it, and so when that node is gone.
    address = Addresses.aiBridge(Membership.nodeId(vertx), UUID.randomUUID().toString());
    Metrics.of(vertx).gauge("chat_ai_generations_active", "Answers being generated or awaiting storage", relays::size);
    vertx.setPeriodic(1000, id -> forgetStale());
    vertx.setPeriodic(Relay.KEEP_ALIVE_MS / 4, id -> relays.values().forEach(Relay::keepAlive));
    generateConsumers = Nearest.consumers(vertx, Addresses.AI_GENERATE, this::generate);
    MessageConsumer<AiCommand> control = vertx.eventBus().consumer(address, this::control);
    return Future.join(Nearest.ready(generateConsumers), control.completion());
  }

  /**
   * Graceful stop: no new answers are taken; answers running here go on (their owners may be
   * moving to other nodes meanwhile) until they are delivered or the drain time is up.
   */
  @Override
  public Future<?> stop() {
    return Nearest.unregister(generateConsumers)
        .compose(v -> drained(System.currentTimeMillis() + settings.answersDrainMs()))
        .onComplete(v -> {
          for (Relay relay : new ArrayList<>(relays.values())) {
            relay.stop();
          }
          provider.close();
        });
  }

  private Future<Void> drained(long deadline) {
    boolean busy = relays.values().stream().anyMatch(relay -> !relay.endAccepted());
    if (!busy || System.currentTimeMillis() > deadline) {
      return Future.succeededFuture();
    }
    Promise<Void> later = Promise.promise();
    vertx.setTimer(100, t -> later.complete());
    return later.future().compose(v -> drained(deadline));
  }

  private void generate(Message<Generate> message) {
    Generate request = message.body();
    String key = key(request.sessionId(), request.messageId());
    Relay running = relays.get(key);
    if (running != null && running.run == request.run()) {
      message.reply(address);
      return;
    }
    if (running != null && request.fence() < running.ownerFence()) {
      // From an owner older than the one the running run answers to: it is stale.
      message.reply(InternalFailure.FENCED.reply());
      return;
    }
    if (running != null) {
      // The owner continues the answer with a new run: the old one (silent, or slow) stops here.
      running.stop();
    }
    Relay[] created = new Relay[1];
    Relay relay = new Relay(vertx, sessions, request.sessionId(), request.messageId(), request.fromIndex(),
        request.run(), request.fence(), address, settings.deliveryTimeoutMs(), settings.retainAfterEndMs(), () -> {
      if (relays.remove(key, created[0])) {
        endedAt.remove(key);
      }
    });
    created[0] = relay;
    relays.put(key, relay);
    message.reply(address);
    relay.generation = provider.start(request, relay);
    LOG.atDebug().addKeyValue("session_id", request.sessionId())
        .log("Session {}: generating answer {}", request.sessionId(), request.messageId());
  }

  private void control(Message<AiCommand> message) {
    AiCommand command = message.body();
    if (command instanceof TokensTaken taken) {
      Relay relay = relays.get(key(taken.sessionId(), taken.messageId()));
      if (relay != null && relay.run == taken.run()) {
        relay.taken(taken);
      }
    } else if (command instanceof StopGeneration stop) {
      Relay relay = relays.get(key(stop.sessionId(), stop.messageId()));
      if (relay != null && relay.run == stop.run()) {
        relay.stopFrom(stop.fence());
      }
    } else if (command instanceof AnswerStored stored) {
      Relay relay = relays.get(key(stored.sessionId(), stored.messageId()));
      if (relay != null) {
        relay.answerStored();
      }
    }
  }

  /** Ended answers whose owner never confirmed storage (it died, then the answer was interrupted) are let go. */
  private void forgetStale() {
    long now = System.currentTimeMillis();
    for (Map.Entry<String, Relay> entry : new ArrayList<>(relays.entrySet())) {
      if (entry.getValue().endAccepted()) {
        long since = endedAt.computeIfAbsent(entry.getKey(), k -> now);
        if (now - since > settings.retainAfterEndMs()) {
          entry.getValue().stop();
        }
      } else {
        // A new owner took the answer again: its end is kept for that owner from when it accepts it.
        endedAt.remove(entry.getKey());
      }
    }
  }

  private static String key(String sessionId, String messageId) {
    return sessionId + "/" + messageId;
  }
}
