/* A Kafka-protocol broker for tests: librdkafka's built-in mock cluster
 * (librdkafka/rdkafka_mock.h, Debian's librdkafka-dev).
 *
 *   kafka-mock <brokers> [topic[:partitions]]...
 *
 * Creates the topics, prints "BOOTSTRAP host:port[,host:port...]" as one line on stdout,
 * and serves until stdin closes (the test process went away) or SIGTERM/SIGINT arrives;
 * then destroys the cluster and exits 0. KAFKA_MOCK_DEBUG=mock,protocol (librdkafka
 * `debug` contexts) logs the mock's own view to stderr.
 *
 * What the mock is (librdkafka 2.0.2, measured with kafkajs 2.2.4; details in
 * test/integration/harness.test.ts and test/support/kafka.ts):
 *  - The mock cluster lives in an rd_kafka_t handle (a producer here) that only hosts it;
 *    each broker listens on its own random 127.0.0.1 port (ids 1..n).
 *  - API keys served: Produce, Fetch, ListOffsets, Metadata (v0-2), OffsetCommit,
 *    OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
 *    ApiVersions, InitProducerId and the transaction APIs. Not served: CreateTopics,
 *    DeleteTopics, DescribeGroups, ListGroups, DeleteGroups, DescribeConfigs... So
 *    kafkajs admin.createTopics/setOffsets/resetOffsets/describeGroups fail: topics are
 *    created here. Producing to (or fetching metadata of) an unknown topic auto-creates
 *    it with 4 partitions.
 *  - Each partition keeps a bounded log, fixed in the library (no setter, no config
 *    property): at most 100,000 record batches and 5 MiB of batch bytes; appending
 *    beyond either drops the oldest batches (the low watermark moves on; a consumer
 *    whose position fell below it gets OFFSET_OUT_OF_RANGE and kafkajs silently resets
 *    to earliest/latest). Tests consume as they go or stay under the bound.
 *  - Consumer groups work (join, sync, heartbeat, commit, fetch committed offsets), with
 *    the mock's own timing: the first join of an empty group waits 3 s; a join after a
 *    member left (or died) waits sessionTimeout - 1 s for the others to rejoin. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static int parse_positive(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 100000) return -1;
  *out = (int)v;
  return 0;
}

int main(int argc, char **argv) {
  int brokers;
  if (argc < 2 || parse_positive(argv[1], &brokers) != 0) {
    fprintf(stderr, "usage: %s <brokers> [topic[:partitions]]...\n", argv[0]);
    return 2;
  }

  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *debug = getenv("KAFKA_MOCK_DEBUG");
  if (rd_kafka_conf_set(conf, "log_level", debug && *debug ? "7" : "3", err, sizeof err) != RD_KAFKA_CONF_OK ||
      (debug && *debug && rd_kafka_conf_set(conf, "debug", debug, err, sizeof err) != RD_KAFKA_CONF_OK)) {
    fprintf(stderr, "kafka-mock: %s\n", err);
    return 2;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "kafka-mock: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  for (int i = 2; i < argc; i++) {
    char name[250];
    int partitions = 1;
    const char *colon = strrchr(argv[i], ':');
    size_t n = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
    if (n == 0 || n >= sizeof name || (colon && parse_positive(colon + 1, &partitions) != 0)) {
      fprintf(stderr, "kafka-mock: bad topic \"%s\" (want name or name:partitions)\n", argv[i]);
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 2;
    }
    memcpy(name, argv[i], n);
    name[n] = 0;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, brokers < 3 ? brokers : 3);
    if (e) {
      fprintf(stderr, "kafka-mock: topic %s: %s\n", name, rd_kafka_err2str(e));
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  /* Serve (the mock runs on its own threads) until told to stop. */
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  while (!stop_requested) {
    int r = poll(&pfd, 1, 200);
    if (r > 0) {
      char buf[256];
      ssize_t got = read(0, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break; /* stdin closed */
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
