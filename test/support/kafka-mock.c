/* A Kafka-protocol broker for tests: librdkafka's built-in mock cluster.
 *
 *   kafka-mock <brokers> <topic:partitions>...
 *
 * Creates the topics, prints "BOOTSTRAP host:port,..." on stdout, and runs until stdin
 * closes or SIGTERM/SIGINT arrives. kafkajs cannot create topics on the mock cluster
 * (CreateTopics is not implemented there), so tests name them here. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <brokers> [topic:partitions]...\n", argv[0]);
    return 2;
  }
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* quiet: the host handle only carries the mock cluster */
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, atoi(argv[1]));
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    char name[256];
    int partitions = 1;
    const char *colon = strrchr(argv[i], ':');
    size_t n = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, argv[i], n);
    name[n] = 0;
    if (colon) partitions = atoi(colon + 1);
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, 1);
    if (e) {
      fprintf(stderr, "topic %s: %s\n", name, rd_kafka_err2str(e));
      return 1;
    }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  while (!stop) {
    int r = poll(&pfd, 1, 200);
    if (r > 0) {
      char buf[256];
      if (read(0, buf, sizeof buf) <= 0) break; /* stdin closed: the test runner went away */
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
