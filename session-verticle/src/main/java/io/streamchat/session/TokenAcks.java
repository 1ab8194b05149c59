package io.streamchat.session;

import io.streamchat.protocol.AiCommand.TokensTaken;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.TokenAck;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Tokens come to their session's owner as plain sends, without a reply each: their generators
 * hear how far the owner is in bulk, once per {@link #acknowledgeDue} for every answer that took
 * tokens since, and at once when the answer does not stream here (so that the generator stops or
 * resends). At most one acknowledgement per answer run waits.
 */
final class TokenAcks {

  /** What a generator is to be told; {@code round} is the acknowledgement interval it is due in. */
  record Due(ActiveSession session, String messageId, String generatorAddress, long run, long round) {

    boolean sameRun(Tokens tokens, long currentRound) {
      return round == currentRound && run == tokens.run() && messageId.equals(tokens.messageId())
          && generatorAddress.equals(tokens.generatorAddress());
    }
  }

  private final Set<Due> due = new LinkedHashSet<>();
  private long round;
  /** Sends an acknowledgement to a generator's address. */
  private final BiConsumer<String, TokensTaken> sender;

  TokenAcks(BiConsumer<String, TokensTaken> sender) {
    this.sender = sender;
  }

  /** The session's actor takes the tokens; their acknowledgement is due, or sent now if the answer does not stream. */
  void streamed(ActiveSession session, Tokens tokens) {
    TokenAck ack = session.actor.tokens(tokens);
    if (ack.streaming()) {
      // Most tokens are of the answer run whose acknowledgement is due already: no set lookup for them.
      Due last = session.ackDue;
      if (last == null || !last.sameRun(tokens, round)) {
        Due next = new Due(session, tokens.messageId(), tokens.generatorAddress(), tokens.run(), round);
        due.add(next);
        session.ackDue = next;
      }
    } else {
      send(session, tokens.messageId(), tokens.generatorAddress(), tokens.run(), ack);
    }
  }

  /** Acknowledges what is due, for the sessions still {@code owned} here. */
  void acknowledgeDue(Predicate<ActiveSession> owned) {
    for (Due next : due) {
      if (owned.test(next.session())) {
        send(next.session(), next.messageId(), next.generatorAddress(), next.run(),
            next.session().actor.progress(next.messageId(), next.run()));
      }
    }
    due.clear();
    round++;
  }

  int pending() {
    return due.size();
  }

  private void send(ActiveSession session, String messageId, String generatorAddress, long run, TokenAck ack) {
    sender.accept(generatorAddress, new TokensTaken(session.id, messageId, ack.streaming(), ack.nextIndex(), ack.fence(), run));
  }
}
