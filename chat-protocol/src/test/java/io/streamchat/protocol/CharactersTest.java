package io.streamchat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CharactersTest {

  private static final String EMOJI = "\uD83D\uDE00";

  @Test
  void anEmojiIsOneCharacter() {
    assertThat(Characters.over(EMOJI.repeat(3), 3)).isFalse();
    assertThat(Characters.over(EMOJI.repeat(4), 3)).isTrue();
    assertThat(Characters.over("abcd", 3)).isTrue();
    assertThat(Characters.over("", 0)).isFalse();
  }

  @Test
  void aCutNeverSplitsASurrogatePair() {
    assertThat(Characters.first("ab" + EMOJI + "cd", 3)).isEqualTo("ab" + EMOJI);
    assertThat(Characters.first(EMOJI.repeat(100), 80)).isEqualTo(EMOJI.repeat(80));
    assertThat(Characters.first("short", 80)).isEqualTo("short");
  }

  @Test
  void aTitleIsTheFirstLineCutTo80Characters() {
    assertThat(DurableCommand.Write.titleOf("\n  first line  \nsecond")).isEqualTo("first line");
    assertThat(DurableCommand.Write.titleOf(EMOJI.repeat(90))).isEqualTo(EMOJI.repeat(80));
    assertThat(DurableCommand.Write.titleOf("a\u0000b")).as("PostgreSQL text cannot hold U+0000").isEqualTo("a\uFFFDb");
    assertThat(DurableCommand.Write.titleOf(" \n\t \n")).as("a question with nothing to show").isEqualTo("New chat");
  }
}
