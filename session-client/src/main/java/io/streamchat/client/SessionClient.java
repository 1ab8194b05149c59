package io.streamchat.client;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.Nearest;
import io.streamchat.protocol.SessionCommand;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Reaches a session's owner wherever it lives. When nobody owns the session (no handler at its
 * address, or the owner is handing it off) it asks for an activation and tries again, a bounded
 * number of times, then fails with {@link ErrorCode#UNAVAILABLE}.
 */
public final class SessionClient {

  /** About ten seconds in all: longer than the cluster takes to declare a hung member dead. */
  private static final long[] BACKOFF_MS = {0, 5, 20, 50, 100, 200, 300, 400, 500, 500, 500, 500, 500, 500, 500,
      500, 500, 500, 500, 500, 500, 500, 500, 500, 500};

  /**
   * An owner answers in microseconds; a command that may be repeated is given up on sooner than
   * the request timeout, so that a dead owner is replaced quickly (a request to a killed node is
   * not failed by the event bus, it times out).
   */
  private static final long REPEATABLE_ATTEMPT_MS = 500;

  private final Vertx vertx;
  private final Metrics metrics;
  private final DeliveryOptions options;
  private final DeliveryOptions repeatableOptions;

  public SessionClient(Vertx vertx, long requestTimeoutMs) {
    this.vertx = vertx;
    this.metrics = Metrics.of(vertx);
    this.options = new DeliveryOptions().setSendTimeout(requestTimeoutMs);
    this.repeatableOptions = new DeliveryOptions().setSendTimeout(Math.min(requestTimeoutMs, REPEATABLE_ATTEMPT_MS));
  }

  public <T> Future<T> request(String sessionId, SessionCommand command) {
    return attempt(sessionId, command, 0);
  }

  /** One request to the current owner, without activation or retry: does the owner still know it? */
  public Future<Object> probe(String sessionId, SessionCommand command) {
    return vertx.eventBus().request(Addresses.session(sessionId), command, options).map(message -> message.body())
        .onFailure(metrics::requestFailed);
  }

  /** Fire and forget, for messages whose loss the protocol tolerates (credit). */
  public void send(String sessionId, SessionCommand command) {
    vertx.eventBus().send(Addresses.session(sessionId), command, options);
  }

  private <T> Future<T> attempt(String sessionId, SessionCommand command, int attempt) {
    DeliveryOptions attemptOptions = safeToRepeat(command) ? repeatableOptions : options;
    return vertx.eventBus().<T>request(Addresses.session(sessionId), command, attemptOptions)
        .map(message -> message.body())
        .recover(failure -> {
          metrics.requestFailed(failure);
          if (!needsActivation(failure) && !(isTimeout(failure) && safeToRepeat(command))) {
            return Future.failedFuture(failure);
          }
          if (attempt + 1 >= BACKOFF_MS.length) {
            return Future.failedFuture(new ChatException(ErrorCode.UNAVAILABLE, "session " + sessionId + " has no owner"));
          }
          return activate(sessionId)
              .compose(v -> delay(BACKOFF_MS[attempt + 1]))
              .compose(v -> attempt(sessionId, command, attempt + 1));
        });
  }

  private static boolean isTimeout(Throwable failure) {
    return failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT;
  }

  /**
   * Commands that may be sent again after a timeout (the owner may be hung, or gone without the
   * cluster knowing yet): repeating them changes nothing. A message with a request id is answered
   * once by its owner (so are a regeneration and a continuation); a cancel is not repeated, since
   * its acknowledgement goes to the socket.
   */
  private static boolean safeToRepeat(SessionCommand command) {
    return (command instanceof SessionCommand.SendMessage send && send.requestId() != null)
        || (command instanceof SessionCommand.Regenerate regenerate && regenerate.requestId() != null)
        || (command instanceof SessionCommand.Continue request && request.requestId() != null)
        || command instanceof SessionCommand.Attach || command instanceof SessionCommand.Tokens
        || command instanceof SessionCommand.GenerationEnded || command instanceof SessionCommand.GetHistory
        || command instanceof SessionCommand.Recover || command instanceof SessionCommand.Detach;
  }

  private static boolean needsActivation(Throwable failure) {
    return (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS)
        || InternalFailure.MOVED.is(failure);
  }

  /** Activation prefers this event loop, then this node: a session lives where its first connection came in. */
  private Future<Void> activate(String sessionId) {
    return Nearest.request(vertx, Addresses.SESSION_ACTIVATE, sessionId, options)
        .<Void>mapEmpty()
        .recover(failure -> {
          if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
            return Future.failedFuture(new ChatException(ErrorCode.UNAVAILABLE, "no session verticle is running"));
          }
          if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE
              && !InternalFailure.MOVED.is(failure) && ErrorCode.fromWire(reply.getMessage()) != ErrorCode.UNAVAILABLE) {
            return Future.failedFuture(ChatException.of(reply));
          }
          // Unavailable (Redis slow or down) or timed out: the next attempt activates again, within the budget.
          return Future.succeededFuture();
        });
  }

  private Future<Void> delay(long ms) {
    if (ms <= 0) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    vertx.setTimer(ms, id -> promise.complete());
    return promise.future();
  }
}
