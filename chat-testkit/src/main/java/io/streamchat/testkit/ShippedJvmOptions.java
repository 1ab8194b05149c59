package io.streamchat.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM options a node ships with (the repository's {@code jvm.options}), so that the nodes that
 * tests and the benchmark start run as deployed.
 */
public final class ShippedJvmOptions {

  static final String FILE = "jvm.options";

  private ShippedJvmOptions() {
  }

  /** The options of the nearest {@code jvm.options} at or above the working directory. */
  public static List<String> load() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path file = dir.resolve(FILE);
      if (Files.isRegularFile(file)) {
        return parse(file);
      }
    }
    throw new IllegalStateException(FILE + " not found at or above " + Path.of("").toAbsolutePath());
  }

  /** The options of an argument file: whitespace-separated, '#' starts a comment to the end of the line. */
  static List<String> parse(Path file) {
    try {
      List<String> options = new ArrayList<>();
      for (String line : Files.readAllLines(file)) {
        int comment = line.indexOf('#');
        String content = (comment < 0 ? line : line.substring(0, comment)).trim();
        if (!content.isEmpty()) {
          options.addAll(List.of(content.split("\\s+")));
        }
      }
      return options;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
