package io.streamchat.gateway;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.WallClock;
import io.streamchat.client.SessionClient;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Credit;
import io.streamchat.protocol.SessionCommand.Detach;
import io.streamchat.protocol.SessionReply;
import io.streamchat.protocol.CacheCommand;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: a WebSocket, or a Server-Sent Events stream (which only receives).
 * Everything here runs on the gateway verticle's context, which is the only writer of the
 * connection. Client frames become commands to the session owner, sent one at a time so that they
 * keep their order; frames from the owner are written as they come, and the owner is told how far
 * the connection has taken them, so that a slow client pauses its stream.
 */
final class ClientConnection {

  private static final Logger LOG = LoggerFactory.getLogger(ClientConnection.class);

  private record Pending(SessionCommand command, String ref) {
  }

  /** RFC 6455 close codes of transport errors. */
  private static final short PROTOCOL_ERROR = 1002;
  private static final short INVALID_PAYLOAD = 1007;

  private final String id;
  private final String sessionId;
  private final String userId;
  private final ClientTransport transport;
  private final AccessTokens tokens;
  /** The places this socket holds among its user's and its address's connections. */
  private List<CacheCommand.Place> places = List.of();
  /** When the socket stopped taking its frames, and the timer that closes it if it does not start again. */
  private long slowTimer = -1;
  private long lastWriteMs = System.currentTimeMillis();
  private final Vertx vertx;
  /** When the socket's access token expires (0: never), and the timer that closes it then. */
  private long expiresAtMs;
  private long expiryTimer = -1;
  private final GatewaySettings settings;
  private final SessionClient sessions;
  private final String gatewayAddress;
  private final Runnable onClosed;
  private final ArrayDeque<Pending> commands = new ArrayDeque<>();
  /** The gateway's own replies (type, JSON) until the owner's first frame is written; bounded by the command queue's size. */
  private final List<String[]> heldReplies = new ArrayList<>();
  /** The owner's first frame (history or recovery_status) is written. */
  private boolean greeted;
  private final InboundMessages inbound;
  private boolean commandInFlight;
  private boolean closed;
  /** The close frame is written: nothing follows it (RFC 6455 5.5.1). */
  private boolean closing;
  private final BadFrames badFrames;
  private long messagesSent;
  private long framesReceived;
  private long framesCredited;
  private boolean awaitingDrain;
  /** The client's position: the highest event seq written to it and the epoch it belongs to. */
  private long lastSeq = -1;
  private String epoch;
  /** The fencing token of the owner this socket follows; frames of older owners are stale. */
  private long ownerFence = -1;
  private String ownerNode;
  private boolean probeInFlight;
  private final ConnectionMeters meters;
  /** The gateway's event loop, where the connection was opened: the only thread that writes to it. */
  private final Thread eventLoop;
  /** Counts this socket's attachments; the owner ignores repeats of one and progress of another. */
  private int generation;

  ClientConnection(String id, String sessionId, AccessTokens.Caller caller, ClientTransport transport,
                   GatewaySettings settings, SessionClient sessions, String gatewayAddress, AccessTokens tokens,
                   Vertx vertx, ConnectionMeters meters, Runnable onClosed) {
    this.meters = meters;
    this.eventLoop = Thread.currentThread();
    this.id = id;
    this.sessionId = sessionId;
    this.userId = caller.userId();
    this.expiresAtMs = caller.expiresAtMs();
    this.transport = transport;
    this.tokens = tokens;
    this.vertx = vertx;
    this.inbound = new InboundMessages(settings.maxFrameBytes());
    this.settings = settings;
    this.badFrames = new BadFrames(settings.maxBadFrames());
    this.sessions = sessions;
    this.gatewayAddress = gatewayAddress;
    this.onClosed = onClosed;
  }

  void open(Long cursorSeq, String cursorEpoch) {
    if (cursorSeq != null && cursorEpoch != null) {
      // The client's position until the owner says otherwise: a later re-attach resumes from it.
      lastSeq = cursorSeq;
      epoch = cursorEpoch;
    }
    transport.onClosed(this::onClose);
    scheduleExpiry();
    submit(new Attach(id, generation, gatewayAddress, userId, cursorSeq, cursorEpoch, false), null);
  }

  /** Closes the connection, e.g. with 1012 when the server shuts down. Nothing is written after the close frame. */
  void close(short code, String reason) {
    if (!closed && !closing && !transport.isClosed()) {
      closing = true;
      transport.close(code, reason);
    }
  }

  // ---- from the client ----

  /** A frame the client sent over a WebSocket. */
  void onFrame(WebSocketFrame frame) {
    InboundMessages.FrameKind kind = frame.isText() ? InboundMessages.FrameKind.TEXT
        : frame.isBinary() ? InboundMessages.FrameKind.BINARY
        : frame.isContinuation() ? InboundMessages.FrameKind.CONTINUATION : null;
    if (kind == null || closed) {
      return; // ping, pong and close are answered by the transport
    }
    InboundMessages.Message message = inbound.accept(kind, frame.binaryData().getBytes(), frame.isFinal());
    if (message instanceof InboundMessages.Text text) {
      onText(text.text());
    } else if (message instanceof InboundMessages.Binary) {
      badFrame("binary frames are not supported; send JSON text frames", null);
    } else if (message instanceof InboundMessages.TooLarge) {
      close(ErrorCode.TOO_LARGE.closeCode(), "message over " + settings.maxFrameBytes() + " bytes");
    } else if (message instanceof InboundMessages.NotUtf8) {
      close(INVALID_PAYLOAD, "text frames must be UTF-8");
    } else if (message instanceof InboundMessages.OutOfSequence) {
      close(PROTOCOL_ERROR, "continuation frame out of sequence");
    }
  }

  /** Frames the transport itself refused (over its size limit, malformed) close the socket with the transport's code. */
  void onSocketError(Throwable failure) {
    if (failure instanceof CorruptedWebSocketFrameException corrupted) {
      close((short) corrupted.closeStatus().code(), corrupted.closeStatus().reasonText());
    } else {
      LOG.atDebug().addKeyValue("session_id", sessionId)
          .log("Session {}: socket error: {}", sessionId, failure.toString());
    }
  }

  private void onText(String text) {
    ClientFrame frame = ClientFrame.parse(text);
    if (frame instanceof ClientFrame.Heartbeat) {
      replyLocally("heartbeat_ack", ServerFrames.HEARTBEAT_ACK);
    } else if (frame instanceof ClientFrame.Ping) {
      replyLocally("pong", ServerFrames.PONG);
    } else if (frame instanceof ClientFrame.Message message) {
      submit(new SessionCommand.SendMessage(id, userId, message.content(), message.clientMessageId(),
          id + "/" + ++messagesSent), "message");
    } else if (frame instanceof ClientFrame.Regenerate regenerate) {
      submit(new SessionCommand.Regenerate(id, userId, regenerate.clientMessageId(), id + "/" + ++messagesSent),
          "regenerate");
    } else if (frame instanceof ClientFrame.Continue request) {
      submit(new SessionCommand.Continue(id, userId, request.messageId(), id + "/" + ++messagesSent), "continue");
    } else if (frame instanceof ClientFrame.Cancel cancel) {
      submit(new SessionCommand.Cancel(id, cancel.messageId(), userId, 1), "cancel");
    } else if (frame instanceof ClientFrame.Reconnect reconnect) {
      submit(new SessionCommand.Reconnect(id, reconnect.messageId(), reconnect.lastChunkIndex()), "reconnect");
    } else if (frame instanceof ClientFrame.Auth auth) {
      renew(auth.accessToken());
    } else if (frame instanceof ClientFrame.Invalid invalid) {
      badFrame(invalid.message(), invalid.ref());
    }
  }

  private void badFrame(String message, String ref) {
    replyLocally("error", ErrorReplies.frame(ErrorCode.BAD_REQUEST, message, ref));
    if (badFrames.tooMany(System.currentTimeMillis())) {
      close(ErrorCode.BAD_REQUEST.closeCode(), "too many bad frames");
    }
  }

  /**
   * Queues a frame's command for the owner. The protocol acknowledges every cancel, so a cancel is
   * never refused for the queue's sake: a repeat of the cancel queued last joins it (up to the queue's
   * bound of repeats), and another may take one place over the bound.
   */
  private void submit(SessionCommand command, String ref) {
    if (closed) {
      return;
    }
    Pending queued = commands.peekLast();
    if (command instanceof SessionCommand.Cancel cancel && queued != null
        && queued.command() instanceof SessionCommand.Cancel last && Objects.equals(last.messageId(), cancel.messageId())
        && last.times() < settings.maxQueuedCommands()) {
      commands.pollLast();
      commands.addLast(new Pending(last.repeated(), ref));
      return;
    }
    int bound = settings.maxQueuedCommands() + (command instanceof SessionCommand.Cancel ? 1 : 0);
    if (commands.size() >= bound) {
      replyLocally("error", ErrorReplies.frame(ErrorCode.RATE_LIMITED, "too many frames waiting; slow down", ref));
      return;
    }
    commands.addLast(new Pending(command, ref));
    nextCommand();
  }

  private void nextCommand() {
    if (commandInFlight || closed || commands.isEmpty()) {
      return;
    }
    Pending pending = commands.pollFirst();
    commandInFlight = true;
    sessions.request(sessionId, pending.command()).onComplete(result -> {
      commandInFlight = false;
      replied(pending, result);
      nextCommand();
    });
  }

  private void replied(Pending pending, AsyncResult<Object> result) {
    if (closed) {
      return;
    }
    if (result.succeeded()) {
      if (result.result() instanceof SessionReply.Attached attached) {
        LOG.atDebug().addKeyValue("session_id", sessionId)
            .log("Session {}: connection {} attached to {} (fence {})", sessionId, id, attached.ownerNode(),
                attached.fence());
        ownerFence = Math.max(ownerFence, attached.fence());
        ownerNode = attached.ownerNode();
      }
      return;
    }
    Throwable failure = result.cause();
    if (InternalFailure.NOT_ATTACHED.is(failure)) {
      commands.addFirst(pending);
      commands.addFirst(new Pending(reattach(), null));
      return;
    }
    ChatException error = ChatException.of(failure);
    if (pending.command() instanceof Attach) {
      if (error.code() == ErrorCode.FORBIDDEN) {
        writeError(ErrorCode.FORBIDDEN, error.getMessage(), null);
        close(ErrorCode.FORBIDDEN.closeCode(), "forbidden");
        return;
      }
      LOG.atWarn().addKeyValue("session_id", sessionId)
          .log("Session {}: could not attach a connection: {}", sessionId, failure.toString());
      writeError(error.code(), "the session is unavailable; reconnect with your cursor", null);
      close(ErrorCode.UNAVAILABLE.closeCode(), "session unavailable");
    } else {
      write("error", ErrorReplies.frame(error, pending.ref()));
    }
  }

  void places(List<CacheCommand.Place> held) {
    places = held;
  }

  List<CacheCommand.Place> places() {
    return places;
  }

  /** Attach again where the session lives now, from this socket's position; the client sees no seam. */
  private Attach reattach() {
    framesCredited = 0;
    framesReceived = 0;
    return new Attach(id, ++generation, gatewayAddress, userId, epoch == null ? null : lastSeq, epoch, true);
  }

  // ---- the access token ----

  /** A new token for this socket: it must be valid and name the same user, or the socket is closed. */
  private void renew(String token) {
    if (!tokens.enabled()) {
      replyLocally("error",
          ErrorReplies.frame(ErrorCode.BAD_REQUEST, "authentication is off on this server; no token is needed", "auth"));
      return;
    }
    tokens.verify(token).onComplete(result -> {
      if (closed) {
        return;
      }
      if (result.failed() || !result.result().userId().equals(userId)) {
        String reason = result.failed() ? "the access token is not valid" : "the access token names another user";
        writeError(ErrorCode.UNAUTHORIZED, reason, "auth");
        close(ErrorCode.UNAUTHORIZED.closeCode(), reason);
        return;
      }
      expiresAtMs = result.result().expiresAtMs();
      scheduleExpiry();
      replyLocally("auth_ack", ServerFrames.authAck(expiresAtMs));
    });
  }

  private void scheduleExpiry() {
    if (expiryTimer >= 0) {
      vertx.cancelTimer(expiryTimer);
      expiryTimer = -1;
    }
    if (expiresAtMs > 0) {
      expiryTimer = vertx.setTimer(Math.max(1, tokens.servedUntilMs(expiresAtMs) - System.currentTimeMillis()), id -> {
        expiryTimer = -1;
        writeError(ErrorCode.UNAUTHORIZED, "the access token expired; reconnect with a new one", null);
        close(ErrorCode.UNAUTHORIZED.closeCode(), "access token expired");
      });
    }
  }

  // ---- from the owner ----

  void deliver(FrameBatch batch) {
    if (closed || batch.fence() < ownerFence) {
      return;
    }
    ownerFence = batch.fence();
    for (FrameBatch.Frame frame : batch.frames()) {
      framesReceived++;
      if (FrameBatch.DETACHED.equals(frame.type())) {
        moveOn();
        return;
      }
      if (FrameBatch.DELETED.equals(frame.type())) {
        writeError(ErrorCode.NOT_FOUND, "this conversation was deleted", null);
        close((short) 1000, "conversation deleted");
        return;
      }
      long seq = frame.seq();
      if ("history".equals(frame.type())) {
        JsonObject history = new JsonObject(frame.json());
        epoch = history.getString("epoch");
        lastSeq = history.getLong("seq");
        seq = lastSeq;
      } else if (frame.seq() > lastSeq) {
        lastSeq = frame.seq();
      }
      write(frame.type(), seq, frame.json());
      if (!greeted) {
        greeted = true;
        heldReplies.forEach(held -> write(held[0], held[1]));
        heldReplies.clear();
      }
    }
    if (batch.liveSinceMicros() > 0) {
      meters.deliveryLatency().record(Math.max(0, WallClock.micros() - batch.liveSinceMicros()), TimeUnit.MICROSECONDS);
    }
    credit();
  }

  /** Reports progress to the owner, at least every half window. */
  void credit() {
    if (closed || awaitingDrain) {
      return;
    }
    if (framesReceived - framesCredited >= Math.max(1, settings.windowFrames() / 2)) {
      framesCredited = framesReceived;
      sessions.send(sessionId, new Credit(id, generation, framesReceived, false));
    }
  }

  /**
   * The periodic keep-alive: it reports progress too, and when the owner does not answer (gone,
   * handed off, or it forgot this connection) the socket attaches again where the session lives now.
   */
  void probe() {
    if (!closed && !closing && System.currentTimeMillis() - lastWriteMs > settings.idleTimeoutSeconds() * 1000L / 3) {
      // A quiet socket is pinged, so that the idle timeout closes only connections whose peer is gone.
      lastWriteMs = System.currentTimeMillis();
      transport.ping();
    }
    if (closed || probeInFlight || commandInFlight || ownerFence < 0) {
      return;
    }
    probeInFlight = true;
    long received = awaitingDrain ? framesCredited : framesReceived;
    framesCredited = received;
    long fenceProbed = ownerFence;
    sessions.probe(sessionId, new Credit(id, generation, received, true)).onComplete(result -> {
      probeInFlight = false;
      if (result.failed() && fenceProbed == ownerFence) {
        moveOn();
      }
    });
  }

  /** The owner of this socket's session left the cluster: follow the session to its next owner. */
  void ownerLeft(String node) {
    if (node.equals(ownerNode)) {
      moveOn();
    }
  }

  String ownerNode() {
    return ownerNode;
  }

  private void moveOn() {
    LOG.atDebug().addKeyValue("session_id", sessionId)
        .log("Session {}: connection {} follows the session to its next owner (from seq {})", sessionId, id, lastSeq);
    ownerNode = null;
    submit(reattach(), null);
  }

  // ---- the transport ----

  /**
   * A reply of the gateway's own (pong, heartbeat_ack, auth_ack, a refused frame) waits for the
   * owner's first frame, which the protocol puts first ({@code history} or {@code recovery_status}).
   * A client that floods frames before it is beyond the queue's bound gets its replies at once.
   */
  private void replyLocally(String type, String json) {
    if (greeted || heldReplies.size() >= settings.maxQueuedCommands()) {
      write(type, json);
    } else {
      heldReplies.add(new String[] {type, json});
    }
  }

  private void writeError(ErrorCode code, String message, String ref) {
    write("error", ErrorReplies.frame(code, message, ref));
  }

  /**
   * Writes a frame. A socket that does not take its frames stops being read (its client's pings pile
   * up nowhere) and stops reporting progress (its owner stops sending), until it drains.
   */
  private void write(String type, String json) {
    write(type, 0, json);
  }

  private void write(String type, long seq, String json) {
    if (closed || closing || transport.isClosed()) {
      return;
    }
    if (Thread.currentThread() != eventLoop) {
      meters.offEventLoopWrites().increment();
      LOG.atError().addKeyValue("session_id", sessionId)
          .log("Session {}: a {} frame was written to connection {} off its event loop", sessionId, type, id);
    }
    transport.write(type, seq, epoch, json);
    lastWriteMs = System.currentTimeMillis();
    if (!awaitingDrain && transport.writeQueueFull()) {
      awaitingDrain = true;
      transport.pauseReading();
      slowTimer = vertx.setTimer(settings.slowClientCloseMs(), timer -> {
        slowTimer = -1;
        LOG.atInfo().addKeyValue("session_id", sessionId)
            .log("Session {}: connection {} took no frames for {} ms; closing it", sessionId, id,
                settings.slowClientCloseMs());
        close(ErrorCode.BAD_REQUEST.closeCode(), "not reading");
      });
      transport.onDrain(() -> {
        awaitingDrain = false;
        vertx.cancelTimer(slowTimer);
        slowTimer = -1;
        transport.resumeReading();
        credit();
      });
    }
  }

  private void onClose() {
    if (closed) {
      return;
    }
    closed = true;
    commands.clear();
    if (expiryTimer >= 0) {
      vertx.cancelTimer(expiryTimer);
    }
    if (slowTimer >= 0) {
      vertx.cancelTimer(slowTimer);
    }
    sessions.send(sessionId, new Detach(id));
    onClosed.run();
  }
}
