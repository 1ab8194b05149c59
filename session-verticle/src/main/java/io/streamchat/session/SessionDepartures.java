package io.streamchat.session;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand.Forget;
import io.streamchat.protocol.CacheCommand.Release;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.Nearest;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionReply;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ways a session leaves this owner: idle (passivated), a shutdown (handed off), a newer owner
 * (lost), a deletion. Leaving cleanly, it waits (time-bound) until PostgreSQL and the audit log hold
 * what it kept for them (and, at a hand-off, Redis too: an idle session has nothing left to store)
 * before its lease in Redis is released.
 */
final class SessionDepartures {

  private static final Logger LOG = LoggerFactory.getLogger(SessionDepartures.class);

  private final Vertx vertx;
  private final SessionSettings settings;
  private final DeliveryOptions requestOptions;
  private final SessionMeters meters;
  /** The verticle's sessions: a session that left is removed from it. */
  private final Map<String, ActiveSession> sessions;
  private final AppendPipeline appends;
  /** Null when the durable tier is off. */
  private final WriteBehind<DurableCommand.Write> durableWrites;
  private final SessionAuditLog auditLog;
  private final ReclaimBackoff reclaims;
  /** Gives up this verticle's claim of the session in the cluster. */
  private final Consumer<String> releaseLease;

  SessionDepartures(Vertx vertx, SessionServices services, Map<String, ActiveSession> sessions,
                    SessionAuditLog auditLog, ReclaimBackoff reclaims, Consumer<String> releaseLease) {
    this.vertx = vertx;
    this.settings = services.settings();
    this.requestOptions = services.requestOptions();
    this.meters = services.meters();
    this.sessions = sessions;
    this.appends = services.appends();
    this.durableWrites = services.durableWrites();
    this.auditLog = auditLog;
    this.reclaims = reclaims;
    this.releaseLease = releaseLease;
  }

  /**
   * Idle: the session leaves memory. It is released (a clean hand-off) only once its changes are in
   * the durable tier too, so that a next owner's writes cannot land before them; otherwise the next
   * owner treats it as taken over and writes its newest messages again.
   */
  void passivate(ActiveSession session) {
    session.closing = true;
    session.consumer.unregister()
        .compose(v -> durablyWritten(session.id, System.currentTimeMillis() + settings.requestTimeoutMs()))
        .compose(v -> auditLog.handedOff(session, System.currentTimeMillis() + settings.requestTimeoutMs()))
        .compose(v -> release(session))
        .onComplete(v -> forget(session));
  }

  /** Graceful hand-off: connections re-attach elsewhere, every event is stored, then the session is released. */
  Future<Void> handOff(ActiveSession session) {
    session.closing = true;
    for (Connection connection : session.actor.detachAll()) {
      vertx.eventBus().send(connection.gatewayAddress, FrameBatch.detached(connection.id, session.fence));
    }
    return session.consumer.unregister()
        .compose(v -> flushed(session, System.currentTimeMillis() + settings.requestTimeoutMs()))
        .compose(v -> durablyWritten(session.id, System.currentTimeMillis() + settings.requestTimeoutMs()))
        .compose(v -> auditLog.handedOff(session, System.currentTimeMillis() + settings.requestTimeoutMs()))
        .compose(v -> release(session))
        .onComplete(v -> forget(session))
        .recover(e -> {
          LOG.atWarn().addKeyValue("session_id", session.id)
              .log("Session {} was not handed off cleanly: {}", session.id, e.toString());
          return Future.succeededFuture();
        });
  }

  private Future<Void> flushed(ActiveSession session, long deadline) {
    return Conditions.await(vertx, () -> session.actor.unstoredCount() == 0, deadline,
        "session " + session.id + " still has unstored events");
  }

  private Future<Void> release(ActiveSession session) {
    if (session.actor.unstoredCount() > 0) {
      return Future.succeededFuture();
    }
    return Nearest.request(vertx, Addresses.CACHE, new Release(session.id, session.fence), requestOptions)
        .<Void>mapEmpty()
        .recover(e -> {
          LOG.atWarn().addKeyValue("session_id", session.id)
              .log("Session {} was not released cleanly: {}", session.id, e.toString());
          return Future.succeededFuture();
        });
  }

  private void forget(ActiveSession session) {
    session.actor.leave();
    appends.forget(session);
    auditLog.forget(session);
    if (sessions.remove(session.id, session) && !session.ownedElsewhere) {
      meters.leasesReleased.increment();
    }
    releaseLease.accept(session.id);
  }

  /**
   * Deletes the conversation from every tier but the audit log: its sockets are told and closed,
   * an answer streaming stops, the durable tier forgets it once the writes queued before are done,
   * and Redis forgets it last (which also fences this owner out). The id then starts afresh.
   */
  void deleteConversation(ActiveSession session, Message<SessionCommand> request) {
    if (session.actor.hasConversation()) {
      deleteConversation(session, request, true);
      return;
    }
    // Nothing said here yet: unless the durable tier has the conversation, the reply is not_found and
    // nothing changes (the sockets stay, the epoch too).
    Future<Boolean> stored = !settings.durable() ? Future.succeededFuture(false)
        : Nearest.<DurableCommand.StoredConversation>request(vertx, Addresses.DURABLE,
            new DurableCommand.Load(session.id), requestOptions).map(reply -> reply.body().found());
    stored.onComplete(result -> {
      if (result.failed()) {
        request.reply(new ChatException(ErrorCode.UNAVAILABLE).toReplyException());
      } else if (!result.result()) {
        request.reply(new SessionReply.Deleted(false));
      } else if (sessions.get(session.id) == session && !session.closing) {
        deleteConversation(session, request, false);
      } else {
        request.reply(new ChatException(ErrorCode.UNAVAILABLE).toReplyException());
      }
    });
  }

  private void deleteConversation(ActiveSession session, Message<SessionCommand> request, boolean held) {
    session.closing = true;
    session.actor.abandonAnswer();
    for (Connection connection : session.actor.detachAll()) {
      vertx.eventBus().send(connection.gatewayAddress, FrameBatch.deleted(connection.id, session.fence));
    }
    appends.forget(session);
    long deadline = System.currentTimeMillis() + settings.requestTimeoutMs();
    String userId = session.actor.userId();
    session.consumer.unregister()
        .compose(v -> durablyWritten(session.id, deadline))
        .compose(v -> settings.durable()
            ? Nearest.<DurableCommand.Deleted>request(vertx, Addresses.DURABLE, new DurableCommand.Delete(session.id),
                requestOptions).map(reply -> reply.body().found() || held)
            : Future.succeededFuture(held))
        .compose(existed -> (existed ? auditLog.recordDeletion(session, userId, deadline) : Future.<Void>succeededFuture())
            .map(existed))
        .compose(existed -> Nearest.request(vertx, Addresses.CACHE, new Forget(session.id, session.fence), requestOptions)
            .map(v -> existed))
        .onComplete(result -> {
          forget(session);
          if (result.succeeded()) {
            if (result.result()) {
              LOG.atInfo().addKeyValue("session_id", session.id).log("Session {} deleted", session.id);
            }
            request.reply(new SessionReply.Deleted(result.result()));
          } else {
            LOG.atWarn().addKeyValue("session_id", session.id)
                .log("Deleting session {} failed: {}", session.id, result.cause().toString());
            request.reply(new ChatException(ErrorCode.UNAVAILABLE).toReplyException());
          }
        });
  }

  /** Waits until nothing of the session ({@code null}: of any session) waits for the durable tier. */
  Future<Void> durablyWritten(String sessionId, long deadline) {
    if (durableWrites == null) {
      return Future.succeededFuture();
    }
    Promise<Void> written = Promise.promise();
    durableWrites.whenWritten(write -> sessionId == null || write.sessionId().equals(sessionId),
        Math.max(0, deadline - System.currentTimeMillis()), done -> {
          if (done) {
            written.complete();
          } else {
            written.fail("the durable tier has not taken the conversation's last changes yet");
          }
        });
    return written.future();
  }

  /** A newer owner holds the session: stop at once; connections re-attach to the new owner. */
  void lostOwnership(ActiveSession session) {
    if (session.closing && !sessions.containsKey(session.id)) {
      return;
    }
    auditLog.forget(session);
    LOG.atWarn().addKeyValue("session_id", session.id)
        .log("Session {} is owned elsewhere now (fence {} is stale); dropping it", session.id, session.fence);
    meters.leasesLost.increment();
    reclaims.lost(session.id, System.currentTimeMillis());
    session.ownedElsewhere = true;
    session.closing = true;
    for (Connection connection : session.actor.detachAll()) {
      vertx.eventBus().send(connection.gatewayAddress, FrameBatch.detached(connection.id, session.fence));
    }
    session.consumer.unregister().onComplete(v -> forget(session));
  }
}
