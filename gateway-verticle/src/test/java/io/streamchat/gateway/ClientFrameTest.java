package io.streamchat.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ClientFrameTest {

  @Test
  void validFramesParse() {
    assertThat(ClientFrame.parse("{\"type\":\"message\",\"content\":\"hi\",\"client_message_id\":\"c-1.a:b_2\"}"))
        .isEqualTo(new ClientFrame.Message("hi", "c-1.a:b_2"));
    assertThat(ClientFrame.parse("{\"type\":\"message\",\"content\":\"hi\",\"client_message_id\":null}"))
        .isEqualTo(new ClientFrame.Message("hi", null));
    assertThat(ClientFrame.parse("{\"type\":\"cancel\"}")).isEqualTo(new ClientFrame.Cancel(null));
    assertThat(ClientFrame.parse("{\"type\":\"reconnect\",\"messageId\":\"m\",\"lastChunkIndex\":41}"))
        .isEqualTo(new ClientFrame.Reconnect("m", 41));
    assertThat(ClientFrame.parse("{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":-1}"))
        .isEqualTo(new ClientFrame.Reconnect("m", -1));
    assertThat(ClientFrame.parse("{\"type\":\"heartbeat\",\"extra\":1}")).isInstanceOf(ClientFrame.Heartbeat.class);
    assertThat(ClientFrame.parse("{\"type\":\"ping\"}")).isInstanceOf(ClientFrame.Ping.class);
    assertThat(ClientFrame.parse("{\"type\":\"message\",\"content\":\"pair \\ud83d\\ude00\"}"))
        .as("a surrogate pair is one character").isEqualTo(new ClientFrame.Message("pair \ud83d\ude00", null));
  }

  @Test
  void anUnknownTypeIsNamedAsTheErrorsRef() {
    assertThat(ClientFrame.parse("{\"type\":\"frobnicate\"}")).isEqualTo(
        new ClientFrame.Invalid("unknown type 'frobnicate'", "frobnicate"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "nope", "[]", "1", "null", "{}", "{\"type\":1}", "{\"type\":\"shout\"}",
      "{\"type\":\"message\"}", "{\"type\":\"message\",\"content\":\"\"}", "{\"type\":\"message\",\"content\":[\"a\"]}",
      "{\"type\":\"message\",\"content\":\"a\",\"client_message_id\":\"has space\"}",
      "{\"type\":\"message\",\"content\":\"a\",\"client_message_id\":7}", "{\"type\":\"cancel\",\"message_id\":{}}",
      "{\"type\":\"reconnect\"}", "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":1.5}",
      "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":-2}",
      "{\"type\":\"message\",\"content\":\"bad \\ud800 surrogate\"}", "{\"type\":\"message\",\"content\":\"\\udfff\"}",
      "{\"type\":\"message\",\"content\":\"ends high \\ud83d\"}"})
  void invalidFramesAreRefusedWithAReason(String text) {
    ClientFrame frame = ClientFrame.parse(text);
    assertThat(frame).isInstanceOf(ClientFrame.Invalid.class);
    assertThat(((ClientFrame.Invalid) frame).message()).isNotBlank();
  }
}
