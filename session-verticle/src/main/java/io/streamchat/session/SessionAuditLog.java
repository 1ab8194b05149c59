package io.streamchat.session;

import io.micrometer.core.instrument.Counter;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka audit log as a session verticle sees it: every stored event of its sessions is shipped
 * behind live delivery ({@link AuditShipper}), each session's position is recorded in Redis for its
 * next owner, and a session leaves or is deleted only once its events are in the log (time-bound).
 * When the audit log is off, every session counts as caught up and nothing is shipped.
 */
final class SessionAuditLog {

  private static final Logger LOG = LoggerFactory.getLogger(SessionAuditLog.class);
  private static final long BEAT_MS = 250;
  /** How often each session's audit position is recorded in Redis, for a next owner. */
  private static final long POSITION_MS = 1000;
  /** Added to the producer's delivery timeout before a taken-over session's topic is read. */
  private static final long SETTLE_MARGIN_MS = 5000;

  /** What the audit log asks of the verticle that owns the sessions. */
  interface Owner {
    Collection<ActiveSession> sessions();

    /** A newer owner holds the session: the verticle drops it. */
    void lostOwnership(ActiveSession session);

    /** Confirms (or finds stale, and drops) this owner's fencing token of the session. */
    Future<Void> checkFence(ActiveSession session);
  }

  private final Vertx vertx;
  private final AuditSettings settings;
  private final long requestTimeoutMs;
  /** Null when the audit log is off. */
  private final AuditShipper shipper;
  private final Counter lost;

  private SessionAuditLog(Vertx vertx, AuditSettings settings, long requestTimeoutMs, AuditShipper shipper,
                          Counter lost) {
    this.vertx = vertx;
    this.settings = settings;
    this.requestTimeoutMs = requestTimeoutMs;
    this.shipper = shipper;
    this.lost = lost;
  }

  /** Starts shipping, on the calling verticle's event loop, when {@code settings} turn the audit log on. */
  static SessionAuditLog start(Vertx vertx, AuditSettings settings, Metrics metrics, AppendPipeline.Clock clock,
                               String nodeId, long requestTimeoutMs, Owner owner) {
    if (!settings.enabled()) {
      return new SessionAuditLog(vertx, settings, requestTimeoutMs, null, null);
    }
    Counter written = metrics.counter("chat_audit_records_total", "Records written to the Kafka audit log");
    Counter failures = metrics.counter("chat_audit_failures_total",
        "Audit-log batches, reads and reconciliations that failed (they are retried)");
    Counter lost = metrics.counter("chat_audit_events_lost_total",
        "Stored events that will not be in the audit log (they left Redis first, Kafka refuses them, deleted first)");
    Counter batchesWritten = metrics.storeWrites(Metrics.Store.KAFKA, true);
    Counter batchesFailed = metrics.storeWrites(Metrics.Store.KAFKA, false);
    AuditLink link = new AuditLink(vertx, settings.deliveryTimeoutMs() + requestTimeoutMs * 3,
        new DeliveryOptions().setSendTimeout(requestTimeoutMs));
    AuditShipper[] shipper = new AuditShipper[1];
    AuditShipper.Listener listener = new AuditShipper.Listener() {
      private final WarningThrottle warnings = new WarningThrottle(5000);

      @Override
      public void written(int records) {
        written.increment(records);
        batchesWritten.increment();
      }

      @Override
      public void failed(String sessionId, Throwable failure) {
        failures.increment();
        batchesFailed.increment();
        if (warnings.warnNow(System.currentTimeMillis()) >= 0) {
          LOG.atWarn().addKeyValue("session_id", sessionId)
              .log("Writing session {} to the audit log failed ({}); live delivery goes on and it is retried in order",
                  sessionId, failure.toString());
        }
      }

      @Override
      public void lost(String sessionId, long events, String why) {
        lost.increment(events);
        LOG.atError().addKeyValue("session_id", sessionId)
            .log("Session {}: {} events will not be in the audit log: {}", sessionId, events, why);
      }

      @Override
      public void reconciled(String sessionId, long seq, long known) {
        LOG.atInfo().addKeyValue("session_id", sessionId)
            .log("Session {}: the audit log holds its events up to seq {} ({} known); it goes on from there",
                sessionId, seq, known);
      }

      @Override
      public void fenced(AuditShipper.Source source) {
        owner.lostOwnership((ActiveSession) source);
      }

      @Override
      public void paused() {
        LOG.warn("This node was paused; the audit log waits until it knows which sessions are still its own");
        List<Future<Void>> checks = new ArrayList<>();
        for (ActiveSession session : new ArrayList<>(owner.sessions())) {
          checks.add(owner.checkFence(session));
        }
        // A session whose check could not be made is confirmed again before anything of it is written.
        Future.join(checks).onComplete(v -> shipper[0].resume());
      }
    };
    shipper[0] = new AuditShipper(link, link, clock, listener, nodeId, settings.chunks(),
        settings.maxInFlightRecords(), settings.deliveryTimeoutMs() + SETTLE_MARGIN_MS);
    vertx.setPeriodic(BEAT_MS, id -> shipper[0].beat());
    vertx.setPeriodic(POSITION_MS, id -> shipper[0].recordPositions(owner.sessions()));
    return new SessionAuditLog(vertx, settings, requestTimeoutMs, shipper[0], lost);
  }

  /** Where the audit log of a session just claimed goes on from. */
  AuditCursor cursor(Claimed claimed) {
    return AuditCursor.claimed(claimed, System.currentTimeMillis(), settings.deliveryTimeoutMs() + SETTLE_MARGIN_MS);
  }

  void enqueue(ActiveSession session) {
    if (shipper != null) {
      shipper.enqueue(session);
    }
  }

  /** More of the session's events are stored in Redis. */
  void stored(ActiveSession session) {
    if (shipper != null) {
      shipper.stored(session);
    }
  }

  boolean caughtUp(ActiveSession session) {
    return shipper == null || shipper.caughtUp(session);
  }

  void forget(ActiveSession session) {
    if (shipper != null) {
      shipper.forget(session);
    }
  }

  /**
   * The session leaves this owner: waits (time-bound) until every stored event of it is in the audit
   * log, then records that position for the next owner as exact: it then goes on without reading the
   * topic. Otherwise the next owner reads the topic first, and writes what is left when it activates
   * the session.
   */
  Future<Void> handedOff(ActiveSession session, long deadline) {
    if (shipper == null) {
      return Future.succeededFuture();
    }
    return Conditions.await(vertx, () -> shipper.caughtUp(session), deadline, "the audit log is behind")
        .compose(v -> {
          shipper.forget(session);
          Promise<Void> recorded = Promise.promise();
          shipper.recordPosition(session, true, outcome -> {
            if (outcome == AuditShipper.Recorded.RECORDED) {
              recorded.complete();
            } else {
              recorded.fail("recording the position " + outcome);
            }
          });
          return recorded.future();
        })
        .recover(e -> {
          LOG.atWarn().addKeyValue("session_id", session.id)
              .log("Session {} leaves with {} events not yet in the audit log ({}); its next owner writes them",
                  session.id, AuditShipper.behind(session), e.getMessage());
          return Future.succeededFuture();
        });
  }

  /**
   * The audit log's last records of a deleted conversation: what is left of its events (time-bound;
   * what does not make it is counted lost), then {@code session_deleted}, acknowledged before the
   * conversation leaves Redis, so that no record of a new conversation of that id can come before it.
   */
  Future<Void> recordDeletion(ActiveSession session, String userId, long deadline) {
    if (shipper == null) {
      return Future.succeededFuture();
    }
    return Conditions.await(vertx, () -> shipper.caughtUp(session), deadline, "the audit log is behind")
        .recover(e -> {
          long left = AuditShipper.behind(session);
          lost.increment(left);
          LOG.atError().addKeyValue("session_id", session.id)
              .log("Session {} is deleted with {} events not yet in the audit log; they will not be", session.id, left);
          return Future.succeededFuture();
        })
        .compose(v -> {
          shipper.forget(session);
          DeliveryOptions options = new DeliveryOptions().setLocalOnly(true)
              .setSendTimeout(Math.max(1, deadline - System.currentTimeMillis()) + requestTimeoutMs);
          return vertx.eventBus().<AuditCommand.Delivery>request(Addresses.AUDIT,
              new AuditCommand.SessionDeleted(session.id, userId, System.currentTimeMillis()), options);
        })
        .compose(reply -> reply.body().written() ? Future.<Void>succeededFuture()
            : Future.failedFuture("the audit log did not take the deletion of session " + session.id));
  }
}
