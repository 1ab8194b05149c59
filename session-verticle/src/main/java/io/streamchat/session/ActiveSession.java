package io.streamchat.session;

import io.streamchat.protocol.SessionCommand;
import io.vertx.core.eventbus.MessageConsumer;

/** A session this verticle owns: the actor, its address registration, its fencing token and its storage progress. */
final class ActiveSession {

  final String id;
  final long fence;
  SessionActor actor;
  MessageConsumer<SessionCommand> consumer;
  boolean appendInFlight;
  boolean retryScheduled;
  int failedAppends;
  /** Handing off or lost: commands are refused so that senders find the next owner. */
  boolean closing;

  ActiveSession(String id, long fence) {
    this.id = id;
    this.fence = fence;
  }
}
