/* Unit tests for the kernel on one rank (MPI singleton): event order with
 * ties, idle-time skipping, end time, per-entity random streams, stop. */
#include "cx_core.h"
#include "cx_test.h"

typedef struct rec {
    cx_time_t t[64];
    cx_eid_t  src[64];
    uint64_t  seq[64];
    uint16_t  prio[64];
    int       n;
} rec_t;

static void on_event(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    rec_t *r = self->state;
    (void)eng;
    if (r == NULL || r->n >= 64) return;
    r->t[r->n]    = ev->time;
    r->src[r->n]  = ev->src;
    r->seq[r->n]  = ev->seq;
    r->prio[r->n] = ev->prio;
    r->n++;
}

static const cx_handler_fn    handlers[] = {on_event};
static const cx_entity_type_t rec_type   = {"rec", handlers, 1};

static cx_engine_t *make_engine(uint64_t n, cx_time_t la, cx_time_t end)
{
    cx_engine_config_t cfg = {0};
    cx_engine_t       *eng = NULL;
    cx_err_t           err;
    cfg.comm       = MPI_COMM_SELF;
    cfg.n_entities = n;
    cfg.lookahead  = la;
    cfg.end_time   = end;
    cfg.seed       = 5;
    assert_int_equal(cx_engine_create(&eng, &cfg, &err), CX_OK);
    return eng;
}

static void test_tie_order(void **state)
{
    cx_engine_t *eng = make_engine(4, 1000, 0);
    rec_t        r;
    cx_err_t     err;
    cx_entity_t *e1, *e2, *e3;
    (void)state;
    memset(&r, 0, sizeof(r));
    cx_engine_set_entity(eng, 0, &rec_type, &r);
    cx_engine_set_entity(eng, 1, &rec_type, NULL);
    cx_engine_set_entity(eng, 2, &rec_type, NULL);
    cx_engine_set_entity(eng, 3, &rec_type, NULL);
    e1 = cx_engine_entity(eng, 1);
    e2 = cx_engine_entity(eng, 2);
    e3 = cx_engine_entity(eng, 3);
    /* Sent in scrambled order; all to entity 0. */
    cx_event_send(eng, cx_event_new(eng, e3, 0, 500, 0, 0));  /* (500,0,3,0) */
    cx_event_send(eng, cx_event_new(eng, e2, 0, 500, 0, 1));  /* (500,1,2,0) */
    cx_event_send(eng, cx_event_new(eng, e2, 0, 500, 0, 0));  /* (500,0,2,1) */
    cx_event_send(eng, cx_event_new(eng, e1, 0, 900, 0, 0));  /* (900,0,1,0) */
    cx_event_send(eng, cx_event_new(eng, e1, 0, 500, 0, 0));  /* (500,0,1,1) */
    cx_event_send(eng, cx_event_new(eng, e2, 0, 100, 0, 7));  /* (100,7,2,2) */
    assert_int_equal(cx_engine_run(eng, &err), CX_OK);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.t[0], 100);
    assert_int_equal(r.t[1], 500); assert_int_equal(r.src[1], 1); assert_int_equal(r.prio[1], 0);
    assert_int_equal(r.t[2], 500); assert_int_equal(r.src[2], 2); assert_int_equal(r.seq[2], 1);
    assert_int_equal(r.t[3], 500); assert_int_equal(r.src[3], 3);
    assert_int_equal(r.t[4], 500); assert_int_equal(r.prio[4], 1);
    assert_int_equal(r.t[5], 900);
    assert_int_equal(cx_engine_stats(eng)->events, 6);
    cx_engine_destroy(eng);
}

static void test_idle_skip_and_end(void **state)
{
    cx_engine_t *eng = make_engine(2, 10, 5 * CX_PS_PER_S);
    rec_t        r;
    cx_err_t     err;
    cx_entity_t *e1;
    (void)state;
    memset(&r, 0, sizeof(r));
    cx_engine_set_entity(eng, 0, &rec_type, &r);
    cx_engine_set_entity(eng, 1, &rec_type, NULL);
    e1 = cx_engine_entity(eng, 1);
    cx_event_send(eng, cx_event_new(eng, e1, 0, 1, 0, 0));
    cx_event_send(eng, cx_event_new(eng, e1, 0, 2 * CX_PS_PER_S, 0, 0));
    cx_event_send(eng, cx_event_new(eng, e1, 0, 9 * CX_PS_PER_S, 0, 0)); /* past end */
    assert_int_equal(cx_engine_run(eng, &err), CX_OK);
    assert_int_equal(r.n, 2);
    /* Two windows, not 2e11: the gap between events is skipped. */
    assert_int_equal(cx_engine_stats(eng)->windows, 2);
    assert_int_equal(cx_engine_stats(eng)->last_event_time, 2 * CX_PS_PER_S);
    cx_engine_destroy(eng);
}

static void test_entity_rand_streams(void **state)
{
    cx_engine_t *a = make_engine(3, 10, 0), *b = make_engine(3, 10, 0);
    uint64_t     x[8], y;
    int          i;
    (void)state;
    for (i = 0; i < 8; i++) x[i] = cx_entity_rand(a, cx_engine_entity(a, 2));
    /* Draws of another entity in between do not change entity 2's stream. */
    for (i = 0; i < 8; i++) {
        (void)cx_entity_rand(b, cx_engine_entity(b, 1));
        y = cx_entity_rand(b, cx_engine_entity(b, 2));
        assert_int_equal(x[i], y);
    }
    assert_int_not_equal(x[0], cx_entity_rand(a, cx_engine_entity(a, 1)));
    assert_int_equal(x[3], cx_rng_u64(5, 2, 3));
    cx_engine_destroy(a);
    cx_engine_destroy(b);
}

static void test_stop_request(void **state)
{
    cx_engine_t *eng = make_engine(1, 10, 0);
    rec_t        r;
    cx_err_t     err;
    (void)state;
    memset(&r, 0, sizeof(r));
    cx_engine_set_entity(eng, 0, &rec_type, &r);
    cx_event_send(eng, cx_event_new(eng, cx_engine_entity(eng, 0), 0, 5, 0, 0));
    cx_engine_request_stop(eng);
    assert_int_equal(cx_engine_run(eng, &err), CX_OK);
    assert_int_equal(cx_engine_stats(eng)->stopped, 1);
    assert_int_equal(r.n, 0);
    cx_engine_destroy(eng);
}

static void test_bad_config(void **state)
{
    cx_engine_config_t cfg = {0};
    cx_engine_t       *eng = NULL;
    cx_err_t           err;
    uint64_t           bad[2] = {0, 7};
    (void)state;
    cfg.comm       = MPI_COMM_SELF;
    cfg.n_entities = 4;
    cfg.lookahead  = 0;
    assert_int_equal(cx_engine_create(&eng, &cfg, &err), CX_ERR_INVALID);
    assert_string_equal(err.field, "lookahead");
    cfg.lookahead   = 5;
    cfg.range_first = bad;
    assert_int_equal(cx_engine_create(&eng, &cfg, &err), CX_ERR_INVALID);
    assert_string_equal(err.field, "partition");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tie_order),
        cmocka_unit_test(test_idle_skip_and_end),
        cmocka_unit_test(test_entity_rand_streams),
        cmocka_unit_test(test_stop_request),
        cmocka_unit_test(test_bad_config),
    };
    return cx_test_run_mpi(&argc, &argv, tests, CX_TEST_COUNT(tests), NULL, NULL);
}
