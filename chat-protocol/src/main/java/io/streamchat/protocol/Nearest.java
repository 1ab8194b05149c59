package io.streamchat.protocol;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.util.List;

/**
 * Service addresses answered by the nearest consumer: the one on the caller's own event-loop
 * thread, else one on the caller's node, else any in the cluster. A node runs one instance of
 * each verticle per event loop (a lane), so a session's hot path (provider stream, owner,
 * sockets, Redis) stays on one thread: no hand-over between threads, no wake-ups.
 */
public final class Nearest {

  private Nearest() {
  }

  /** The node-local address of a service on the calling event-loop thread. */
  public static String lane(String address) {
    return address + ".lane." + Thread.currentThread().getName();
  }

  /**
   * Registers a handler for a service address, cluster-wide and on this verticle's lane. Call it
   * from the verticle's start (on its event loop).
   */
  public static <T> List<MessageConsumer<T>> consumers(Vertx vertx, String address, Handler<Message<T>> handler) {
    return List.of(vertx.eventBus().consumer(address, handler), vertx.eventBus().localConsumer(lane(address), handler));
  }

  public static Future<Void> ready(List<? extends MessageConsumer<?>> consumers) {
    return Future.join(consumers.stream().map(MessageConsumer::completion).toList()).mapEmpty();
  }

  public static Future<Void> unregister(List<? extends MessageConsumer<?>> consumers) {
    return Future.join(consumers.stream().map(MessageConsumer::unregister).toList()).mapEmpty();
  }

  /** A request to the nearest consumer of a service address. Call it on an event loop. */
  public static <T> Future<Message<T>> request(Vertx vertx, String address, Object body, DeliveryOptions options) {
    DeliveryOptions local = new DeliveryOptions(options).setLocalOnly(true);
    return vertx.eventBus().<T>request(lane(address), body, local)
        .recover(failure -> askWider(failure) ? vertx.eventBus().request(address, body, local) : Future.failedFuture(failure))
        .recover(failure -> askWider(failure) ? vertx.eventBus().request(address, body, options) : Future.failedFuture(failure))
        .onFailure(failure -> Metrics.of(vertx).requestFailed(failure));
  }

  /** Nobody nearer serves the address, or the nearer one declined (it is stopping): ask further away. */
  private static boolean askWider(Throwable failure) {
    return (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS)
        || InternalFailure.MOVED.is(failure);
  }
}
