package io.streamchat.session;

import io.micrometer.core.instrument.Counter;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.CacheCommand.Append;
import io.streamchat.protocol.CacheCommand.AppendBatch;
import io.streamchat.protocol.CacheCommand.AppendResult;
import io.streamchat.protocol.CacheCommand.Appended;
import io.streamchat.protocol.CacheCommand.CheckFence;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Identifiers;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.Membership;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.Nearest;
import io.streamchat.protocol.NodeSettings;
import io.streamchat.protocol.SessionCommand.Credit;
import io.streamchat.protocol.SessionCommand.DeleteConversation;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionReply;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.shareddata.LocalMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns sessions: claims them on demand, registers each at its own address, runs its actor on this
 * verticle's context, stores its events through the cache verticle (in order, retried until
 * stored), and hands it off when idle or shutting down.
 */
public final class SessionVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(SessionVerticle.class);
  /** Events in one batch of appends (of all sessions of the verticle together). */
  private static final int MAX_APPEND_BATCH = 4096;
  /** Finished messages written again to PostgreSQL when a session's owner died without handing it off. */
  private static final int DURABLE_CATCH_UP_MESSAGES = 50;
  /** Conversation changes in one PostgreSQL transaction. */
  private static final int MAX_DURABLE_BATCH = 256;
  private static final long TICK_MS = 1000;
  /** How often streamed tokens are acknowledged to their generators; well under CHAT_AI_DELIVERY_TIMEOUT_MS. */
  private static final long TOKEN_ACK_INTERVAL_MS = 100;
  /** A tick this late means the process was stopped (SIGSTOP, a long GC pause, a frozen VM). */
  private static final long PAUSE_SUSPECTED_MS = 3 * TICK_MS;
  /** The longest a change made over the API waits for PostgreSQL before it is replied to. */
  private static final long DURABLE_REPLY_WITHIN_MS = 1000;

  private final Map<String, ActiveSession> sessions = new HashMap<>();
  private final Set<String> activating = new HashSet<>();
  /** Sessions lost to a newer owner are not claimed again at once: two sides of a split would take them in turn. */
  private final ReclaimBackoff reclaims = new ReclaimBackoff(2_000, 16_000);
  private SessionSettings settings;
  private NodeSettings node;

  private String clusterNodeId;
  private DeliveryOptions requestOptions;
  private LeaseKeeper leases;
  private SessionMeters meters;
  private SessionServices services;
  private final TokenAcks tokenAcks = new TokenAcks((generator, taken) -> vertx.eventBus().send(generator, taken));
  /** Sums over this instance's sessions, counted each tick on its own thread and read by the metrics scrape. */
  private volatile long cachePendingEvents;
  private volatile long auditPendingEvents;
  private AnswerAdmission admission;
  private UserQuotas userQuotas;
  /** The activation consumers; null once this node was dropped from the cluster and takes no session. */
  private List<MessageConsumer<String>> activations;
  private AppendPipeline appends;
  /** Conversation changes for the durable tier, written behind live delivery; null when it is off. */
  private WriteBehind<DurableCommand.Write> durableWrites;
  /** Stored events to the Kafka audit log. */
  private SessionAuditLog auditLog;
  private SessionDepartures departures;
  private SessionLoader loader;
  private long lastTickMs;
  /** Clients retry an activation many times a second while it cannot succeed (Redis away, no quorum). */
  private final WarningThrottle activationWarnings = new WarningThrottle(5000);
  /** Handing off: new sessions are for other nodes. */
  private boolean stopping;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    ConfigSource config = ConfigSource.of(config());
    settings = SessionSettings.from(config);
    node = NodeSettings.from(config);
    clusterNodeId = Membership.nodeId(vertx);
    requestOptions = new DeliveryOptions().setSendTimeout(settings.requestTimeoutMs());
    Metrics metrics = Metrics.of(vertx);
    meters = new SessionMeters(metrics);
    metrics.gauge("chat_sessions_owned", "Sessions owned by this node", sessions::size);
    metrics.gauge("chat_sessions_activating", "Sessions being claimed by this node", activating::size);
    metrics.gauge("chat_token_acks_due", "Answers whose streamed tokens wait for their bulk acknowledgement "
        + "(at most one per streaming answer)", tokenAcks::pending);
    admission = nodeAdmission(metrics);
    userQuotas = UserQuotas.inRedis(vertx, requestOptions, node, metrics);
    vertx.setPeriodic(userQuotas.renewEveryMs(), id -> userQuotas.renew(sessions.values().stream()
        .filter(session -> !session.closing && session.actor.streaming() && session.actor.userId() != null)
        .map(session -> new UserAnswerLimit.Streaming(session.actor.userId(), session.id)).toList()));
    appends = new AppendPipeline(this::storeBatch, new LoopClock(), (sessionId, failure) -> {
      meters.appendRetries.increment();
      LOG.atWarn().addKeyValue("session_id", sessionId)
          .log("Storing session {} failed ({}); live delivery goes on and the append is retried",
              sessionId, failure.toString());
    }, MAX_APPEND_BATCH, settings.appendLingerMs());
    durableWrites = settings.durable() ? durableWriteBehind(metrics) : null;
    services = new SessionServices(vertx, settings, requestOptions, meters, appends, admission, userQuotas,
        durableWrites);
    AuditSettings auditSettings = AuditSettings.from(config);
    auditLog = SessionAuditLog.start(vertx, auditSettings, metrics, new LoopClock(), node.nodeId(),
        settings.requestTimeoutMs(), new SessionAuditLog.Owner() {
          @Override
          public Collection<ActiveSession> sessions() {
            return sessions.values();
          }

          @Override
          public void lostOwnership(ActiveSession session) {
            departures.lostOwnership(session);
          }

          @Override
          public Future<Void> checkFence(ActiveSession session) {
            return SessionVerticle.this.checkFence(session);
          }
        });
    departures = new SessionDepartures(vertx, services, sessions, auditLog, reclaims, id -> leases.release(id));
    loader = new SessionLoader(vertx, settings, requestOptions);
    if (auditSettings.enabled()) {
      metrics.gauge("chat_audit_pending_events", "Stored events not yet in the audit log", () -> auditPendingEvents);
    }
    metrics.gauge("chat_cache_pending_events", "Events delivered but not yet stored in Redis", () -> cachePendingEvents);
    vertx.setPeriodic(TICK_MS, id -> tick());
    vertx.setPeriodic(TOKEN_ACK_INTERVAL_MS, id -> tokenAcks.acknowledgeDue(session -> sessions.get(session.id) == session));
    return vertx.sharedData().<String, String>getAsyncMap(Addresses.SESSION_LEASES)
        .compose(map -> {
          leases = new LeaseKeeper(LeaseKeeper.timeBound(map, settings.requestTimeoutMs()),
              other -> Membership.isMember(vertx, other), clusterNodeId, UUID.randomUUID().toString());
          // A generator's node that leaves takes its answers' runs with it: they go on elsewhere at once.
          MessageConsumer<String> memberLeft = vertx.eventBus().localConsumer(Addresses.MEMBER_LEFT,
              message -> {
                if (activations == null) {
                  return; // dropped from the cluster: the others carry these answers now
                }
                for (ActiveSession session : new ArrayList<>(sessions.values())) {
                  if (!session.closing) {
                    session.actor.generatorNodeLeft(message.body());
                  }
                }
              });
          return Future.join(memberLeft.completion(), takeActivations());
        });
  }

  private Future<Void> takeActivations() {
    activations = Nearest.consumers(vertx, Addresses.SESSION_ACTIVATE, this::activate);
    return Nearest.ready(activations);
  }

  /**
   * This node was paused longer than the cluster waits for a silent member: the others have
   * dropped it and claimed its sessions, and on its own it is a cluster where every session looks
   * ownerless. It takes no session from now on (a claim would fence the real owner and leave the
   * other side's sockets without frames); the launcher makes the node leave the cluster and join
   * again as a new member, with new verticles.
   */
  private void holdActivations() {
    if (activations != null && Membership.isClustered(vertx)) {
      LOG.warn("This node was paused longer than the cluster waits for a member; it takes no session any more");
      Nearest.unregister(activations);
      activations = null;
    }
  }

  /** Sums what the sessions hold for Redis and the audit log, here on their thread, for the gauges to read. */
  private void countPending() {
    long cache = 0;
    long audit = 0;
    for (ActiveSession session : sessions.values()) {
      cache += session.actor.unstoredCount();
      audit += AuditShipper.behind(session);
    }
    cachePendingEvents = cache;
    auditPendingEvents = audit;
  }

  /** Conversation changes to PostgreSQL, behind live delivery, in order, retried. */
  private WriteBehind<DurableCommand.Write> durableWriteBehind(Metrics metrics) {
    Counter failures = metrics.counter("chat_db_write_failures_total",
        "Batches of conversation changes that PostgreSQL refused or did not answer (they are retried)");
    WriteBehind<DurableCommand.Write> writes = new WriteBehind<>(this::storeDurably, new LoopClock(), MAX_DURABLE_BATCH,
        settings.maxPendingDurableWrites(), (inARow, failure) -> {
      failures.increment();
      if (inARow == 1 || inARow % 20 == 0) {
        LOG.warn("Writing conversations to PostgreSQL failed ({} in a row: {}); live delivery goes on and the "
            + "writes are retried in order", inARow, failure.toString());
      }
    });
    metrics.gauge("chat_db_pending_writes", "Conversation changes waiting for PostgreSQL", writes::pending);
    return writes;
  }

  /** One admission limit for the node, shared by its session verticle instances. */
  private AnswerAdmission nodeAdmission(Metrics metrics) {
    LocalMap<String, AnswerAdmission> shared = vertx.sharedData().getLocalMap("streamchat.admission");
    AnswerAdmission fresh = new AnswerAdmission(node.maxAnswersPerNode(), node.maxAnswersPerUser(),
        metrics.counter("chat_answers_refused_total", "New answers refused rate_limited by the node's admission limit"));
    AnswerAdmission existing = shared.putIfAbsent("node", fresh);
    if (existing != null) {
      return existing;
    }
    metrics.gauge("chat_answers_active", "Answers streaming in the sessions this node owns", fresh::active);
    return fresh;
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    List<Future<Void>> handOffs = new ArrayList<>();
    for (ActiveSession session : new ArrayList<>(sessions.values())) {
      handOffs.add(departures.handOff(session));
    }
    // The durable tier stops after this verticle: what is queued for it is written first (time-bound).
    long deadline = System.currentTimeMillis() + settings.requestTimeoutMs();
    return Future.join(handOffs).transform(v -> departures.durablyWritten(null, deadline))
        .recover(e -> {
          LOG.warn("{} conversation changes were not written to PostgreSQL before the stop: {}",
              durableWrites.pending(), e.getMessage());
          return Future.succeededFuture();
        });
  }

  // ---- ownership ----

  private void activate(Message<String> request) {
    String sessionId = request.body();
    if (!Identifiers.isSessionId(sessionId)) {
      request.fail(ErrorCode.BAD_REQUEST.httpStatus(), ErrorCode.BAD_REQUEST.wire());
      return;
    }
    if (stopping) {
      request.reply(InternalFailure.MOVED.reply());
      return;
    }
    if (sessions.containsKey(sessionId) || activating.contains(sessionId)) {
      request.reply("owned");
      return;
    }
    if (reclaims.waitMs(sessionId, System.currentTimeMillis()) > 0) {
      request.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
      return;
    }
    activating.add(sessionId);
    leases.acquire(sessionId)
        .compose(outcome -> outcome == LeaseKeeper.Outcome.ACQUIRED ? claim(sessionId) : Future.succeededFuture("elsewhere"))
        .onComplete(result -> {
          activating.remove(sessionId);
          if (result.succeeded()) {
            request.reply(result.result());
          } else {
            activationFailed(sessionId, result.cause());
            leases.release(sessionId);
            request.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
          }
        });
  }

  /** One warning every few seconds, with how many more activations failed meanwhile. */
  private void activationFailed(String sessionId, Throwable failure) {
    long unreported = activationWarnings.warnNow(System.currentTimeMillis());
    if (unreported < 0) {
      return;
    }
    String more = unreported == 0 ? "" : " (" + unreported + " more activations failed since the last warning)";
    LOG.atWarn().addKeyValue("session_id", sessionId)
        .log("Could not activate session {}: {}{}", sessionId, failure.toString(), more);
  }

  private Future<String> claim(String sessionId) {
    return loader.load(sessionId)
        .compose(claimed -> {
          ActiveSession session = new ActiveSession(sessionId, claimed.fence(), departures::lostOwnership, this::storedForAudit);
          session.audit = auditLog.cursor(claimed);
          session.actor = new SessionActor(sessionId, settings, new BusEffects(session, services), claimed);
          session.consumer = vertx.eventBus().consumer(Addresses.session(sessionId), message -> handle(session, message));
          sessions.put(sessionId, session);
          meters.leasesAcquired.increment();
          auditLog.enqueue(session);
          if (claimed.epochChanged() && claimed.lastSeq() > 0) {
            meters.failovers.increment();
            // The previous owner did not hand off: what it had queued for PostgreSQL may be lost.
            session.actor.rewriteRecentMessages(DURABLE_CATCH_UP_MESSAGES);
          }
          if (session.actor.waitsForGenerator()) {
            // Not at the next tick, which may be a second away: the answer goes on as soon as the grace is over.
            vertx.setTimer(StreamingAnswer.RESTORED_GENERATOR_GRACE_MS + 1, id -> {
              if (sessions.get(sessionId) == session && !session.closing) {
                session.actor.tick();
              }
            });
          }
          LOG.atDebug().addKeyValue("session_id", sessionId)
              .log("Session {} activated (fence {}, epoch {}, seq {})", sessionId, claimed.fence(),
                  claimed.epoch(), claimed.lastSeq());
          return session.consumer.completion().map("activated");
        });
  }

  private void tick() {
    countPending();
    long now = System.currentTimeMillis();
    reclaims.expire(now);
    long sinceLastTick = now - lastTickMs;
    lastTickMs = now;
    if (sinceLastTick > PAUSE_SUSPECTED_MS && sinceLastTick < now) {
      // Time jumped: the watchdogs would see every generator as silent. First make sure the
      // sessions are still ours; a stale owner must not end answers that a new owner is carrying.
      LOG.warn("This node was paused for {} ms; checking that its sessions are still its own", sinceLastTick);
      sessions.values().forEach(this::checkFence);
      if (sinceLastTick > settings.clusterMemberTimeoutMs()) {
        holdActivations();
      }
      return;
    }
    for (ActiveSession session : new ArrayList<>(sessions.values())) {
      if (session.closing) {
        continue;
      }
      session.actor.tick();
      // Not while the audit log is behind: the rest would wait for the session's next activation.
      if (session.actor.canPassivate() && auditLog.caughtUp(session)) {
        departures.passivate(session);
      }
    }
  }

  /** After a pause the cluster may have handed a session to another node: a stale owner must stop. */
  private Future<Void> checkFence(ActiveSession session) {
    return Nearest.request(vertx, Addresses.CACHE, new CheckFence(session.id, session.fence), requestOptions)
        .<Void>mapEmpty()
        .onFailure(failure -> {
          if (InternalFailure.FENCED.is(failure)) {
            departures.lostOwnership(session);
          }
        });
  }

  private void storedForAudit(ActiveSession session) {
    auditLog.stored(session);
  }

  // ---- commands ----

  private void handle(ActiveSession session, Message<SessionCommand> message) {
    if (session.closing) {
      message.reply(InternalFailure.MOVED.reply());
      return;
    }
    SessionCommand command = message.body();
    SessionActor actor = session.actor;
    try {
      if (command instanceof SessionCommand.ForUser forUser) {
        actor.authorize(forUser.userId());
      }
      if (command instanceof DeleteConversation) {
        departures.deleteConversation(session, message);
        return;
      }
      if (command instanceof Tokens tokens && message.replyAddress() == null) {
        tokenAcks.streamed(session, tokens);
        return;
      }
      if (command instanceof Credit credit) {
        actor.credit(credit);
        if (credit.probe()) {
          SessionCommands.requireAttached(actor, credit.connectionId());
          message.reply(new SessionReply.Accepted());
        }
        return;
      }
      String newAnswerOf = SessionCommands.startsAnswerOfUser(actor, command);
      if (newAnswerOf != null) {
        admitThenExecute(session, message, newAnswerOf);
        return;
      }
      reply(session, message, SessionCommands.execute(actor, command, clusterNodeId));
    } catch (RuntimeException e) {
      replyFailure(session, message, e);
    }
  }

  /** A refusal goes back as the protocol's error; anything else is logged and replied {@code internal}. */
  private static void replyFailure(ActiveSession session, Message<SessionCommand> message, RuntimeException failure) {
    if (failure instanceof ChatException refusal) {
      message.reply(refusal.toReplyException());
      return;
    }
    LOG.atError().addKeyValue("session_id", session.id).setCause(failure)
        .log("Session {} failed on {}", session.id, message.body().getClass().getSimpleName());
    message.reply(new ChatException(ErrorCode.INTERNAL).toReplyException());
  }

  /**
   * Takes the user's place for the new answer and counts it in the user's minute, then runs the
   * command; a command that starts nothing after all (refused, or a repeat that came meanwhile)
   * gives both back.
   */
  private void admitThenExecute(ActiveSession session, Message<SessionCommand> message, String user) {
    userQuotas.take(user, session.id).onComplete(admitted -> {
      if (admitted.failed()) {
        message.reply(ChatException.of(admitted.cause()).toReplyException());
        return;
      }
      if (session.closing || sessions.get(session.id) != session) {
        userQuotas.giveBack(user, session.id, session.actor.streaming());
        message.reply(InternalFailure.MOVED.reply());
        return;
      }
      long before = session.actor.lastSeq();
      try {
        // Another user may have taken the session while the place was asked for.
        session.actor.authorize(((SessionCommand.ForUser) message.body()).userId());
        reply(session, message, SessionCommands.execute(session.actor, message.body(), clusterNodeId));
      } catch (RuntimeException e) {
        replyFailure(session, message, e);
      } finally {
        if (session.actor.lastSeq() == before) {
          userQuotas.giveBack(user, session.id, session.actor.streaming());
        }
      }
    });
  }

  /**
   * A change made over the HTTP API (or {@code chat.api}) is replied to once the durable tier has it
   * (or after {@link #DURABLE_REPLY_WITHIN_MS}, when PostgreSQL is slow or away), so that a client
   * that lists its conversations after the reply finds the conversation, its message count and
   * whether an answer streams as the change left them; an answer streams meanwhile. A socket's
   * client sees the change's events instead, and its next frame waits for this reply, so a cancel
   * sent right after a message is not held back behind PostgreSQL.
   */
  private void reply(ActiveSession session, Message<SessionCommand> message, Object reply) {
    if (durableWrites == null || !(message.body() instanceof SessionCommand.ChangesConversation change)
        || change.connectionId() != null) {
      message.reply(reply);
      return;
    }
    durableWrites.whenWritten(write -> write.sessionId().equals(session.id), DURABLE_REPLY_WITHIN_MS,
        written -> message.reply(reply));
  }

  // ---- storage ----

  private void storeBatch(List<Append> batch, BiConsumer<List<AppendResult>, Throwable> done) {
    Nearest.<Appended>request(vertx, Addresses.CACHE, new AppendBatch(batch), requestOptions).onComplete(result -> {
      if (result.succeeded()) {
        done.accept(result.result().body().results(), null);
      } else {
        done.accept(null, result.cause());
      }
    });
  }

  private void storeDurably(List<DurableCommand.Write> batch, java.util.function.Consumer<Throwable> done) {
    Nearest.request(vertx, Addresses.DURABLE, new DurableCommand.Save(batch), requestOptions)
        .onComplete(result -> done.accept(result.succeeded() ? null : result.cause()));
  }

  /** The pipeline's time, on this verticle's event loop. */
  private final class LoopClock implements AppendPipeline.Clock {
    @Override
    public long nowMs() {
      return System.currentTimeMillis();
    }

    /** Called on this verticle's event loop, as every user of the clock is. */
    @Override
    public Timer schedule(long delayMs, Runnable task) {
      if (delayMs <= 0) {
        boolean[] cancelled = {false};
        context.runOnContext(v -> {
          if (!cancelled[0]) {
            task.run();
          }
        });
        return () -> cancelled[0] = true;
      }
      long timer = vertx.setTimer(delayMs, id -> task.run());
      return () -> vertx.cancelTimer(timer);
    }
  }
}
