/*
 * mock-broker: a real Kafka-protocol broker for meshtrail's tests.
 *
 * Wraps librdkafka's mock cluster (rdkafka_mock.h, Debian librdkafka-dev) in
 * a tiny line protocol so a Node test can drive it as a child process:
 *
 *   argv[1]   number of brokers (default 1, ids 1..N)
 *   stdout    one line "BOOTSTRAP host:port,host:port" once listening, then
 *             exactly one line "OK" or "ERR <why>" per stdin command
 *   stdin     newline-separated commands (see handle_command below)
 *   exit      on stdin EOF (the test process died or closed us), SIGTERM or
 *             SIGINT; the cluster is destroyed so the listeners are released
 *
 * The mock listens on 127.0.0.1 with ephemeral ports chosen by the kernel,
 * so parallel test files never collide.
 *
 * Limits of the mock that callers must know (hard-coded in librdkafka's
 * rdkafka_mock.c, not settable through the public API): each partition keeps
 * at most 5 MiB of record batches and at most 100000 batches; older batches
 * are dropped from the front (the log start offset moves up), like a very
 * aggressive retention.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_LINE 4096
#define MAX_PUSHED_ERRORS 10000

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

/* Every answer is one line and flushed at once: the Node side waits on it. */
static void reply(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

/* Strict integer parsing: a typo in a test must be an ERR, not a silent 0. */
static int parse_long(const char *s, long min, long max, long *out) {
        char *end;
        long v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

static void reply_err_code(const char *what, rd_kafka_resp_err_t err) {
        if (err)
                reply("ERR %s: %s (%d)", what, rd_kafka_err2name(err),
                      (int)err);
        else
                reply("OK");
}

#define NEED_ARGS(n, usage)                                                    \
        do {                                                                   \
                if (argc != (n)) {                                             \
                        reply("ERR usage: %s", usage);                         \
                        return;                                                \
                }                                                              \
        } while (0)

#define NEED_LONG(idx, min, max, var, name)                                    \
        do {                                                                   \
                if (parse_long(argv[idx], (min), (max), &(var))) {             \
                        reply("ERR bad %s '%s'", name, argv[idx]);             \
                        return;                                                \
                }                                                              \
        } while (0)

static void handle_command(rd_kafka_mock_cluster_t *mc,
                           int broker_cnt,
                           char *line) {
        char *argv[8];
        int argc = 0;
        char *save = NULL;
        char *tok;
        long a, b, c;

        for (tok = strtok_r(line, " \t\r", &save); tok && argc < 8;
             tok = strtok_r(NULL, " \t\r", &save))
                argv[argc++] = tok;

        if (argc == 0) {
                reply("ERR empty command");
                return;
        }

        if (!strcmp(argv[0], "ping")) {
                reply("OK");

        } else if (!strcmp(argv[0], "create-topic")) {
                /* Replication factor defaults to the broker count so leaders
                 * are spread over the brokers, as on a real cluster. */
                if (argc != 3 && argc != 4) {
                        reply("ERR usage: create-topic <name> <partitions> "
                              "[replication]");
                        return;
                }
                NEED_LONG(2, 1, 10000, a, "partitions");
                b = broker_cnt;
                if (argc == 4)
                        NEED_LONG(3, 1, broker_cnt, b, "replication");
                reply_err_code("create-topic",
                               rd_kafka_mock_topic_create(mc, argv[1], (int)a,
                                                          (int)b));

        } else if (!strcmp(argv[0], "broker-down")) {
                NEED_ARGS(2, "broker-down <id>");
                NEED_LONG(1, 1, broker_cnt, a, "broker id");
                reply_err_code("broker-down",
                               rd_kafka_mock_broker_set_down(mc, (int32_t)a));

        } else if (!strcmp(argv[0], "broker-up")) {
                NEED_ARGS(2, "broker-up <id>");
                NEED_LONG(1, 1, broker_cnt, a, "broker id");
                reply_err_code("broker-up",
                               rd_kafka_mock_broker_set_up(mc, (int32_t)a));

        } else if (!strcmp(argv[0], "push-errors")) {
                /* The same error code `count` times on the cluster-wide stack
                 * for ApiKey: the next `count` requests of that type (to any
                 * broker) fail with it. */
                rd_kafka_resp_err_t *errs;
                long i;
                NEED_ARGS(4, "push-errors <apikey> <count> <errcode>");
                NEED_LONG(1, 0, INT16_MAX, a, "apikey");
                NEED_LONG(2, 1, MAX_PUSHED_ERRORS, b, "count");
                NEED_LONG(3, -200, 1000, c, "errcode");
                errs = calloc((size_t)b, sizeof(*errs));
                if (!errs) {
                        reply("ERR out of memory");
                        return;
                }
                for (i = 0; i < b; i++)
                        errs[i] = (rd_kafka_resp_err_t)c;
                rd_kafka_mock_push_request_errors_array(mc, (int16_t)a,
                                                        (size_t)b, errs);
                free(errs);
                reply("OK");

        } else if (!strcmp(argv[0], "clear-errors")) {
                NEED_ARGS(2, "clear-errors <apikey>");
                NEED_LONG(1, 0, INT16_MAX, a, "apikey");
                rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
                reply("OK");

        } else if (!strcmp(argv[0], "set-leader")) {
                /* Makes broker-down tests deterministic: pin a partition's
                 * leader instead of relying on the mock's random choice. */
                NEED_ARGS(4, "set-leader <topic> <partition> <broker id>");
                NEED_LONG(2, 0, 10000, a, "partition");
                NEED_LONG(3, -1, broker_cnt, b, "broker id");
                reply_err_code("set-leader",
                               rd_kafka_mock_partition_set_leader(
                                   mc, argv[1], (int32_t)a, (int32_t)b));

        } else if (!strcmp(argv[0], "set-coordinator")) {
                NEED_ARGS(4, "set-coordinator <group|transaction> <key> "
                             "<broker id>");
                NEED_LONG(3, 1, broker_cnt, a, "broker id");
                reply_err_code("set-coordinator",
                               rd_kafka_mock_coordinator_set(mc, argv[1],
                                                             argv[2],
                                                             (int32_t)a));

        } else if (!strcmp(argv[0], "set-rtt")) {
                NEED_ARGS(3, "set-rtt <broker id> <ms>");
                NEED_LONG(1, 1, broker_cnt, a, "broker id");
                NEED_LONG(2, 0, 600000, b, "rtt ms");
                reply_err_code("set-rtt", rd_kafka_mock_broker_set_rtt(
                                              mc, (int32_t)a, (int)b));

        } else if (!strcmp(argv[0], "set-apiversion")) {
                /* min=max=-1 disables the API, to test version negotiation. */
                NEED_ARGS(4, "set-apiversion <apikey> <min> <max>");
                NEED_LONG(1, 0, INT16_MAX, a, "apikey");
                NEED_LONG(2, -1, INT16_MAX, b, "min version");
                NEED_LONG(3, -1, INT16_MAX, c, "max version");
                reply_err_code("set-apiversion",
                               rd_kafka_mock_set_apiversion(
                                   mc, (int16_t)a, (int16_t)b, (int16_t)c));

        } else {
                reply("ERR unknown command '%s'", argv[0]);
        }
}

int main(int argc, char **argv) {
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mc;
        struct sigaction sa;
        long broker_cnt = 1;
        char buf[MAX_LINE];
        size_t used  = 0;
        int overflow = 0;
        const char *debug = getenv("MOCK_BROKER_DEBUG");

        if (argc > 2 || (argc == 2 && parse_long(argv[1], 1, 16, &broker_cnt))) {
                fprintf(stderr, "usage: %s [broker count 1..16]\n", argv[0]);
                return 2;
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: poll() must return EINTR so we notice the stop. */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* A producer handle without bootstrap.servers never connects
         * anywhere; the mock only needs it for its threads and logging. */
        conf = rd_kafka_conf_new();
        /* Level 4 hides the notice that no bootstrap.servers is set, which
         * is intended here and would only confuse test output. */
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
        if (debug && *debug &&
            rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) !=
                RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-broker: debug=%s: %s\n", debug, errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-broker: rd_kafka_new failed: %s\n",
                        errstr);
                return 1;
        }

        mc = rd_kafka_mock_cluster_new(rk, (int)broker_cnt);
        if (!mc) {
                fprintf(stderr,
                        "mock-broker: rd_kafka_mock_cluster_new(%ld) failed\n",
                        broker_cnt);
                rd_kafka_destroy(rk);
                return 1;
        }

        reply("BOOTSTRAP %s", rd_kafka_mock_cluster_bootstraps(mc));

        while (!stop_requested) {
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                ssize_t r;
                char *nl;
                int pr = poll(&pfd, 1, 500);

                if (pr < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("mock-broker: poll");
                        break;
                }
                if (pr == 0)
                        continue;

                r = read(STDIN_FILENO, buf + used, sizeof(buf) - 1 - used);
                if (r < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        perror("mock-broker: read");
                        break;
                }
                if (r == 0)
                        break; /* EOF: our parent is gone or done */
                used += (size_t)r;
                buf[used] = '\0';

                while ((nl = memchr(buf, '\n', used))) {
                        size_t linelen = (size_t)(nl - buf);
                        *nl            = '\0';
                        if (overflow) {
                                reply("ERR command longer than %d bytes",
                                      MAX_LINE - 1);
                                overflow = 0;
                        } else {
                                handle_command(mc, (int)broker_cnt, buf);
                        }
                        memmove(buf, nl + 1, used - linelen - 1);
                        used -= linelen + 1;
                        buf[used] = '\0';
                }
                if (used == sizeof(buf) - 1) {
                        /* Drop an over-long line but still answer it once. */
                        overflow = 1;
                        used     = 0;
                }
        }

        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
