package io.streamchat.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time of a local process, from /proc. */
public final class ProcessCpu {

  private ProcessCpu() {
  }

  /** CPU time used by the process so far (user + system), in milliseconds. */
  public static long millis(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10;
  }
}
