package io.streamchat.protocol;

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

  /** Failure code an owner uses for "not mine (any more): activate and retry". */
  public static final int RETRY_ELSEWHERE = 307;
  /** Failure code for a connection's command when the owner does not know the connection: attach, then retry. */
  public static final int NOT_ATTACHED = 410;

  private static final long[] BACKOFF_MS = {0, 5, 20, 50, 100, 200, 400, 800, 1000, 1000, 1000};

  private final Vertx vertx;
  private final DeliveryOptions options;

  public SessionClient(Vertx vertx, long requestTimeoutMs) {
    this.vertx = vertx;
    this.options = new DeliveryOptions().setSendTimeout(requestTimeoutMs);
  }

  public static ReplyException retryElsewhere() {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, RETRY_ELSEWHERE, "session moved");
  }

  public <T> Future<T> request(String sessionId, SessionCommand command) {
    return attempt(sessionId, command, 0);
  }

  /** Fire and forget, for messages whose loss the protocol tolerates (credit, keep-alive). */
  public void send(String sessionId, SessionCommand command) {
    vertx.eventBus().send(Addresses.session(sessionId), command, options);
  }

  private <T> Future<T> attempt(String sessionId, SessionCommand command, int attempt) {
    return vertx.eventBus().<T>request(Addresses.session(sessionId), command, options)
        .map(message -> message.body())
        .recover(failure -> {
          if (!needsActivation(failure)) {
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

  private static boolean needsActivation(Throwable failure) {
    if (failure instanceof ReplyException reply) {
      return reply.failureType() == ReplyFailure.NO_HANDLERS
          || (reply.failureType() == ReplyFailure.RECIPIENT_FAILURE && reply.failureCode() == RETRY_ELSEWHERE);
    }
    return false;
  }

  private Future<Void> activate(String sessionId) {
    return vertx.eventBus().request(Addresses.SESSION_ACTIVATE, sessionId, options)
        .<Void>mapEmpty()
        .recover(failure -> {
          if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS) {
            return Future.failedFuture(new ChatException(ErrorCode.UNAVAILABLE, "no session verticle is running"));
          }
          if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
            return Future.failedFuture(new ChatException(ErrorCode.fromWire(reply.getMessage()), reply.getMessage()));
          }
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
