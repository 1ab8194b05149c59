package io.streamchat.session;

import io.streamchat.protocol.AiCommand.AnswerStored;
import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.Generate;
import io.streamchat.protocol.AiCommand.StopGeneration;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.JsonText;
import io.streamchat.protocol.Nearest;
import io.vertx.core.eventbus.EventBus;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Carries out what one session's actor asks for, over the event bus and the verticle's pipelines. */
final class BusEffects implements SessionEffects {

  private static final Logger LOG = LoggerFactory.getLogger(BusEffects.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private final ActiveSession session;
  /** {@code {"session_id":…,"user_id":…,} for this session's events on chat.events. */
  private String eventPrefix;
  private String prefixUser;
  private final SessionServices services;
  private final EventBus eventBus;

  BusEffects(ActiveSession session, SessionServices services) {
    this.session = session;
    this.services = services;
    this.eventBus = services.vertx().eventBus();
  }

  @Override
  public void deliver(String gatewayAddress, FrameBatch batch) {
    eventBus.send(gatewayAddress, batch);
  }

  @Override
  public void publish(LoggedEvent event) {
    services.meters().eventsAppended++;
    String user = session.actor == null ? null : session.actor.userId();
    if (eventPrefix == null || !Objects.equals(user, prefixUser)) {
      // Built once per session (and again if its user becomes known), not once per event.
      StringBuilder prefix = new StringBuilder("{\"session_id\":");
      JsonText.quote(prefix, session.id).append(",\"user_id\":");
      eventPrefix = (user == null ? prefix.append("null") : JsonText.quote(prefix, user)).append(',').toString();
      prefixUser = user;
    }
    String json = event.json();
    eventBus.publish(Addresses.EVENTS, new StringBuilder(eventPrefix.length() + json.length())
        .append(eventPrefix).append(json, 1, json.length()).toString());
  }

  @Override
  public void persist() {
    services.appends().mark(session);
  }

  @Override
  public void startGeneration(String messageId, List<ContextMessage> context, String prefix, int fromIndex, long run) {
    Generate generate = new Generate(session.id, messageId, session.actor.userId(), context, prefix, fromIndex, run,
        session.fence);
    // The bridge on this event loop first: its tokens then reach the owner without changing threads.
    Nearest.<String>request(services.vertx(), Addresses.AI_GENERATE, generate, services.requestOptions())
        .onSuccess(reply -> session.actor.generatorStarted(messageId, run, reply.body()))
        .onFailure(failure -> {
          LOG.atWarn().addKeyValue("session_id", session.id)
              .log("Session {}: no AI bridge took answer {}: {}", session.id, messageId, failure.toString());
          session.actor.generatorUnreachable(messageId, run, failure.getMessage());
        });
  }

  @Override
  public void stopGeneration(String messageId, String generatorAddress, long run) {
    if (generatorAddress != null) {
      eventBus.send(generatorAddress, new StopGeneration(session.id, messageId, session.fence, run));
    }
  }

  @Override
  public void generationContinued(String messageId, int fromIndex, String why) {
    services.meters().answersContinued.increment();
    LOG.atInfo().addKeyValue("session_id", session.id)
        .log("Session {}: answer {} lost its generator ({}); a new run goes on from chunk {}", session.id,
            messageId, why, fromIndex);
  }

  @Override
  public long newRun() {
    long run;
    do {
      run = RANDOM.nextLong();
    } while (run == Answer.UNKNOWN_RUN);
    return run;
  }

  @Override
  public void answerStored(String messageId, String generatorAddress) {
    eventBus.send(generatorAddress, new AnswerStored(session.id, messageId));
  }

  @Override
  public void answerTruncated() {
    services.meters().answersTruncated.increment();
    LOG.atInfo().addKeyValue("session_id", session.id)
        .log("Session {}: an answer reached CHAT_MAX_ANSWER_CHARS ({}) and was ended there", session.id,
            services.settings().maxAnswerChars());
  }

  @Override
  public AnswerAdmission admission() {
    return services.admission();
  }

  @Override
  public void answerEnded(String userId, AnswerStatus status, AnswerError errorCode) {
    services.userQuotas().answerEnded(userId, session.id);
    services.meters().answerEnded(status, errorCode);
  }

  @Override
  public void firstToken(long afterMs) {
    services.meters().timeToFirstToken.record(afterMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public void resumed(boolean recovered) {
    (recovered ? services.meters().resumesRecovered : services.meters().resumesReset).increment();
  }

  @Override
  public void conversationChanged(DurableCommand.Write write) {
    if (services.durableWrites() != null) {
      services.durableWrites().offer(write);
    }
  }

  @Override
  public boolean durableTierBehind() {
    return services.durableWrites() != null && services.durableWrites().full();
  }

  @Override
  public long nowMs() {
    return System.currentTimeMillis();
  }

  @Override
  public String newId() {
    return UUID.randomUUID().toString();
  }
}
