package io.streamchat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.eventbus.ReplyException;
import org.junit.jupiter.api.Test;

class ChatExceptionTest {

  @Test
  void aRefusalCrossesTheEventBusWithItsCodeWaitAndMessage() {
    ReplyException reply = ChatException.rateLimited("at most 4 messages a minute", 52_000).toReplyException();
    assertThat(reply.failureCode()).isEqualTo(429);
    assertThat(ErrorCode.of(reply)).isEqualTo(ErrorCode.RATE_LIMITED);
    ChatException back = ChatException.of(reply);
    assertThat(back.code()).isEqualTo(ErrorCode.RATE_LIMITED);
    assertThat(back.retryAfterMs()).isEqualTo(52_000);
    assertThat(back.getMessage()).isEqualTo("at most 4 messages a minute");
    assertThat(ChatException.of(new ChatException(ErrorCode.BAD_REQUEST, "a\tb\tc").toReplyException()).getMessage())
        .as("a message with the separator in it").isEqualTo("a\tb\tc");
  }

  @Test
  void theChatApiReplyIsTheBareCode() {
    ReplyException reply = new ChatException(ErrorCode.BUSY, "an answer is streaming").toApiReply();
    assertThat(reply.failureCode()).isEqualTo(409);
    assertThat(reply.getMessage()).isEqualTo("busy");
    assertThat(ChatException.of(reply).code()).isEqualTo(ErrorCode.BUSY);
    assertThat(ChatException.of(reply).getMessage()).isEqualTo(ErrorCode.BUSY.defaultMessage());
  }
}
