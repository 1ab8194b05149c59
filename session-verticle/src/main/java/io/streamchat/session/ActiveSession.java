package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.SessionCommand;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.List;
import java.util.function.Consumer;

/** A session this verticle owns: the actor, its address registration and its fencing token. */
final class ActiveSession implements AppendPipeline.Log, AuditShipper.Source {

  final String id;
  final long fence;
  private final Consumer<ActiveSession> onFenced;
  private final Consumer<ActiveSession> onStored;
  /** How far the session's stored events are in the audit log (kept even when the audit log is off). */
  AuditCursor audit;
  SessionActor actor;
  MessageConsumer<SessionCommand> consumer;
  /** Handing off or lost: commands are refused so that senders find the next owner. */
  boolean closing;
  /** A newer owner fenced this one out. */
  boolean ownedElsewhere;
  /** The acknowledgement last made due for its tokens ({@link TokenAcks}). */
  TokenAcks.Due ackDue;

  ActiveSession(String id, long fence, Consumer<ActiveSession> onFenced, Consumer<ActiveSession> onStored) {
    this.id = id;
    this.fence = fence;
    this.onFenced = onFenced;
    this.onStored = onStored;
  }

  @Override
  public String sessionId() {
    return id;
  }

  @Override
  public long fence() {
    return fence;
  }

  @Override
  public String userId() {
    return actor.userId();
  }

  @Override
  public List<StoredEvent> unstored(int max) {
    return actor.unstored(max);
  }

  @Override
  public boolean hasUnstored() {
    return actor.unstoredCount() > 0;
  }

  @Override
  public void stored(long seq) {
    actor.stored(seq);
    onStored.accept(this);
  }

  @Override
  public long storedSeq() {
    return actor.storedSeq();
  }

  @Override
  public LoggedEvent heldEvent(long seq) {
    return actor.heldEvent(seq);
  }

  @Override
  public AuditCursor audit() {
    return audit;
  }

  @Override
  public void fenced() {
    onFenced.accept(this);
  }
}
