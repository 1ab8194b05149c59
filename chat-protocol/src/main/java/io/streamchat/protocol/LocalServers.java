package io.streamchat.protocol;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** What the embedded servers of laptop mode and tests share: ports on loopback, throwaway directories. */
public final class LocalServers {

  private LocalServers() {
  }

  /** Whether nothing listens on {@code port} of the loopback address. */
  public static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return true;
    } catch (IOException taken) {
      return false;
    }
  }

  /** A port nothing listens on now. */
  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** {@code preferred} when it is free, else a free port. */
  public static int preferredOrFree(int preferred) throws IOException {
    return isFree(preferred) ? preferred : freePort();
  }

  /** Deletes a directory and everything in it, as far as it can. */
  public static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // A throwaway directory left behind harms nothing.
    }
  }
}
