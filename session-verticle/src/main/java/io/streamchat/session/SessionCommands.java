package io.streamchat.session;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Cancel;
import io.streamchat.protocol.SessionCommand.Continue;
import io.streamchat.protocol.SessionCommand.Detach;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.GetHistory;
import io.streamchat.protocol.SessionCommand.Reconnect;
import io.streamchat.protocol.SessionCommand.Recover;
import io.streamchat.protocol.SessionCommand.Regenerate;
import io.streamchat.protocol.SessionCommand.SendMessage;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply;
import io.vertx.core.eventbus.ReplyException;

/** Which actor call each command of a session's address is, and what it replies. No Vert.x beyond the reply type. */
final class SessionCommands {

  private SessionCommands() {
  }

  /** Runs a command on the actor; its result is the reply. Refusals are thrown as {@link ChatException}s. */
  static Object execute(SessionActor actor, SessionCommand command, String clusterNodeId) {
    if (command instanceof Tokens tokens) {
      return actor.tokens(tokens);
    } else if (command instanceof Attach attach) {
      actor.attach(attach);
      return new SessionReply.Attached(actor.fence(), clusterNodeId);
    } else if (command instanceof SendMessage send) {
      return actor.send(send);
    } else if (command instanceof Regenerate regenerate) {
      return actor.regenerate(regenerate);
    } else if (command instanceof Continue request) {
      return actor.continueAnswer(request);
    } else if (command instanceof Cancel cancel) {
      requireAttached(actor, cancel.connectionId());
      return actor.cancel(cancel);
    } else if (command instanceof Reconnect reconnect) {
      requireAttached(actor, reconnect.connectionId());
      actor.reconnect(reconnect);
      return new SessionReply.Accepted();
    } else if (command instanceof Detach detach) {
      actor.detach(detach.connectionId());
      return new SessionReply.Accepted();
    } else if (command instanceof GenerationEnded ended) {
      return actor.generationEnded(ended);
    } else if (command instanceof Recover recover) {
      return actor.recover(recover);
    } else if (command instanceof GetHistory) {
      return new SessionReply.History(actor.history(false));
    } else if (command instanceof SessionCommand.Authorize) {
      return new SessionReply.Accepted();
    }
    throw new ChatException(ErrorCode.BAD_REQUEST, "unknown command " + command.getClass().getSimpleName());
  }

  /** The user whose cluster-wide limit a command must pass first: it would start an answer of a known user. */
  static String startsAnswerOfUser(SessionActor actor, SessionCommand command) {
    if (!(command instanceof SessionCommand.ForUser forUser) || !actor.wouldStartAnswer(command)) {
      return null;
    }
    return actor.userId() != null ? actor.userId() : forUser.userId();
  }

  /** A connection's command that needs its stream: if the connection is not attached here, its gateway must attach first. */
  static void requireAttached(SessionActor actor, String connectionId) {
    if (connectionId != null && !actor.hasConnection(connectionId)) {
      throw new NotAttached();
    }
  }

  /** Replied as {@link InternalFailure#NOT_ATTACHED}. */
  private static final class NotAttached extends ChatException {
    NotAttached() {
      super(ErrorCode.UNAVAILABLE, "connection not attached");
    }

    @Override
    public ReplyException toReplyException() {
      return InternalFailure.NOT_ATTACHED.reply();
    }
  }
}
