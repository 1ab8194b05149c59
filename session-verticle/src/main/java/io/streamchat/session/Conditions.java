package io.streamchat.session;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.BooleanSupplier;

/** Time-bound waits for state that the event loop itself changes (stored events, the audit log's progress). */
final class Conditions {

  private static final long CHECK_EVERY_MS = 20;

  private Conditions() {
  }

  /** Checks every 20 ms until {@code done} holds; fails with {@code notDone} after the deadline. */
  static Future<Void> await(Vertx vertx, BooleanSupplier done, long deadline, String notDone) {
    if (done.getAsBoolean()) {
      return Future.succeededFuture();
    }
    if (System.currentTimeMillis() > deadline) {
      return Future.failedFuture(notDone);
    }
    Promise<Void> waited = Promise.promise();
    vertx.setTimer(CHECK_EVERY_MS, t -> waited.complete());
    return waited.future().compose(v -> await(vertx, done, deadline, notDone));
  }
}
