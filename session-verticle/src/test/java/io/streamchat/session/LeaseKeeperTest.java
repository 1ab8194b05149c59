package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.session.LeaseKeeper.Outcome;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The lease keeper alone: an in-memory lease map, a set of members. */
class LeaseKeeperTest {

  private final Map<String, String> map = new HashMap<>();
  private final Set<String> members = new HashSet<>(Set.of("node-a", "node-b"));
  /** Runs before a compare-and-set: another node racing for the same lease. */
  private Runnable beforeReplace = () -> { };
  /** Removals held back, as calls to a hung member are, until they are run. */
  private boolean delayRemoves;
  private final List<Runnable> delayedRemoves = new ArrayList<>();

  private final LeaseKeeper.LeaseMap leases = new LeaseKeeper.LeaseMap() {
    @Override
    public Future<String> putIfAbsent(String sessionId, String holder) {
      return Future.succeededFuture(map.putIfAbsent(sessionId, holder));
    }

    @Override
    public Future<Boolean> replaceIfPresent(String sessionId, String oldHolder, String newHolder) {
      beforeReplace.run();
      return Future.succeededFuture(map.replace(sessionId, oldHolder, newHolder));
    }

    @Override
    public Future<Boolean> removeIfPresent(String sessionId, String holder) {
      if (!delayRemoves) {
        return Future.succeededFuture(map.remove(sessionId, holder));
      }
      Promise<Boolean> removed = Promise.promise();
      delayedRemoves.add(() -> removed.complete(map.remove(sessionId, holder)));
      return removed.future();
    }
  };

  private LeaseKeeper keeper(String node, String instance) {
    return new LeaseKeeper(leases, members::contains, node, instance);
  }

  private static Outcome acquire(LeaseKeeper keeper, String sessionId) {
    return Objects.requireNonNull(keeper.acquire(sessionId).result());
  }

  @Test
  void aFreeLeaseIsTakenAndTakingItAgainIsHarmless() {
    LeaseKeeper a = keeper("node-a", "1");
    assertThat(acquire(a, "s")).isEqualTo(Outcome.ACQUIRED);
    assertThat(acquire(a, "s")).isEqualTo(Outcome.ACQUIRED);
    assertThat(map.get("s")).startsWith("node-a|1|");
  }

  @Test
  void aLeaseOfALiveMemberIsNotTakenButOneOfADepartedMemberIs() {
    LeaseKeeper a = keeper("node-a", "1");
    LeaseKeeper b = keeper("node-b", "1");
    acquire(a, "s");
    assertThat(acquire(b, "s")).isEqualTo(Outcome.HELD_ELSEWHERE);
    members.remove("node-a");
    assertThat(acquire(b, "s")).isEqualTo(Outcome.ACQUIRED);
    assertThat(map.get("s")).startsWith("node-b|1|");
  }

  @Test
  void twoNodesRacingForADepartedMembersLeaseEndWithOneHolder() {
    acquire(keeper("node-gone", "1"), "s");
    LeaseKeeper b = keeper("node-b", "1");
    LeaseKeeper c = keeper("node-c", "1");
    members.add("node-c");
    beforeReplace = () -> map.put("s", "node-c|1|1");
    assertThat(acquire(b, "s")).as("node c took it over first").isEqualTo(Outcome.HELD_ELSEWHERE);
    beforeReplace = () -> { };
    assertThat(acquire(c, "s")).isEqualTo(Outcome.ACQUIRED);
  }

  @Test
  void aLateReleaseOfAFailedAttemptNeverRemovesTheLeaseOfALaterOne() {
    LeaseKeeper a = keeper("node-a", "1");
    assertThat(acquire(a, "s")).as("the first attempt, whose activation then fails").isEqualTo(Outcome.ACQUIRED);
    delayRemoves = true;
    a.release("s");
    assertThat(acquire(a, "s")).as("the next attempt, while the release is on its way").isEqualTo(Outcome.ACQUIRED);
    delayedRemoves.forEach(Runnable::run);
    assertThat(map.get("s")).as("the lease of the next attempt stays").startsWith("node-a|1|");
    assertThat(acquire(keeper("node-b", "1"), "s")).isEqualTo(Outcome.HELD_ELSEWHERE);
  }

  @Test
  void onlyTheHolderReleasesALease() {
    LeaseKeeper a = keeper("node-a", "1");
    LeaseKeeper otherInstance = keeper("node-a", "2");
    acquire(a, "s");
    assertThat(otherInstance.release("s").result()).isFalse();
    assertThat(acquire(otherInstance, "s")).as("another instance of a live node holds it").isEqualTo(Outcome.HELD_ELSEWHERE);
    assertThat(otherInstance.attemptsHeld()).as("an attempt that found it held keeps nothing").isZero();
    assertThat(a.attemptsHeld()).isEqualTo(1);
    assertThat(a.release("s").result()).isTrue();
    assertThat(map).doesNotContainKey("s");
    assertThat(a.attemptsHeld()).isZero();
  }
}
