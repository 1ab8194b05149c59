package io.streamchat.session;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** What the audit shipper asks, over the event bus: this node's audit verticle, and the cache verticles. */
final class AuditLink implements AuditShipper.Topic, AuditShipper.Storage {

  private final Vertx vertx;
  private final DeliveryOptions kafkaOptions;
  private final DeliveryOptions cacheOptions;

  /** @param kafkaTimeoutMs how long a request to the audit verticle may take: longer than the producer retries a record */
  AuditLink(Vertx vertx, long kafkaTimeoutMs, DeliveryOptions cacheOptions) {
    this.vertx = vertx;
    this.kafkaOptions = new DeliveryOptions().setLocalOnly(true).setSendTimeout(kafkaTimeoutMs);
    this.cacheOptions = cacheOptions;
  }

  @Override
  public void ship(List<AuditCommand.AuditRecord> records, long createdAtMs,
                   BiConsumer<List<AuditCommand.Delivery>, Throwable> done) {
    vertx.eventBus().<AuditCommand.Shipped>request(Addresses.AUDIT, new AuditCommand.Ship(records, createdAtMs),
            kafkaOptions)
        .onComplete(r -> done.accept(r.succeeded() ? r.result().body().deliveries() : null, r.cause()));
  }

  @Override
  public void reconcile(AuditCommand.Reconcile request, BiConsumer<AuditCommand.Reconciled, Throwable> done) {
    vertx.eventBus().<AuditCommand.Reconciled>request(Addresses.AUDIT, request, kafkaOptions)
        .onComplete(r -> done.accept(r.succeeded() ? r.result().body() : null, r.cause()));
  }

  @Override
  public void read(String sessionId, long afterSeq, int max, BiConsumer<List<CacheCommand.StoredEvent>, Throwable> done) {
    Nearest.<CacheCommand.LogEvents>request(vertx, Addresses.CACHE, new CacheCommand.ReadLog(sessionId, afterSeq, max),
            cacheOptions)
        .onComplete(r -> done.accept(r.succeeded() ? r.result().body().events() : null, r.cause()));
  }

  @Override
  public void record(String sessionId, long fence, CacheCommand.AuditMark mark, Consumer<AuditShipper.Recorded> done) {
    Nearest.request(vertx, Addresses.CACHE, new CacheCommand.MarkAudited(sessionId, fence, mark), cacheOptions)
        .onComplete(r -> done.accept(r.succeeded() ? AuditShipper.Recorded.RECORDED
            : InternalFailure.FENCED.is(r.cause()) ? AuditShipper.Recorded.FENCED : AuditShipper.Recorded.FAILED));
  }
}
