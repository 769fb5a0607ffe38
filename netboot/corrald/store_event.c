/*
 * store_event: boot events (the timeline), written in batches; each row
 * also moves its node's state and last stage, records the address a MAC
 * was last seen at, or counts requests from a machine no node has.  Rows
 * are bounded: identical repeats add to one row (events.c decides which),
 * a node keeps its newest per_node rows, and store_events_prune() takes
 * old and excess rows away a bounded number at a time.
 * See store.h.
 */
#include <errno.h>

#include "store.h"
#include "store_int.h"

/* Requests from a MAC no node has: remember the machine or count them. */
static int store_event_discovered(struct store_conn *c, const struct store_event *e)
{
	sqlite3_stmt *s =
		store_qc(c, ST_EVENT_DISCOVERED, STORE_TEXT(e->mac), STORE_TEXT(e->source),
			 STORE_INT(e->time_us), STORE_INT(e->last_us), STORE_INT(e->count));
	return s ? store_done(c, s) : -EIO;
}

/*
 * Adds e's repeats to the row e->row if that row is still the same event
 * of the same node: 1 if it was (e then holds the row's totals), 0 if not.
 */
static int store_event_more(struct store_conn *c, struct store_event *e)
{
	sqlite3_stmt *s =
		store_qc(c, ST_EVENT_MORE, STORE_INT(e->row), STORE_INT(e->node_id),
			 STORE_INT(e->count), STORE_INT(e->time_us), STORE_INT(e->last_us),
			 STORE_TEXT(e->stage), STORE_TEXT(e->source), STORE_TEXT(e->detail));
	if (s == NULL)
		return -EIO;
	int rc = store_step(c, s);
	if (rc == 1) {
		e->count = sqlite3_column_int64(s, 0);
		e->time_us = sqlite3_column_int64(s, 1);
		e->last_us = sqlite3_column_int64(s, 2);
		sqlite3_reset(s);
	}
	return rc;
}

/*
 * The node's rows after one was added: over per_node, recount (the count
 * kept in nodes.event_rows may be high after pruning) and trim the oldest.
 * added is lowered by the rows trimmed.
 */
static int store_event_cap(struct store_conn *c, int64_t node_id, int64_t rows, int per_node,
			   int64_t *added)
{
	if (rows <= per_node)
		return 0;
	sqlite3_stmt *s = store_qc(c, ST_EVENT_NODE_RECOUNT, STORE_INT(node_id));
	if (s == NULL)
		return -EIO;
	int rc = store_step(c, s);
	if (rc != 1)
		return rc < 0 ? rc : 0;
	rows = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rows <= per_node)
		return 0;
	s = store_qc(c, ST_EVENT_NODE_TRIM, STORE_INT(node_id), STORE_INT(rows - per_node));
	if (s == NULL || (rc = store_done(c, s)) < 0)
		return s ? rc : -EIO;
	int64_t gone = sqlite3_changes64(c->db);
	*added -= gone;
	s = store_qc(c, ST_EVENT_NODE_ROWS, STORE_INT(node_id), STORE_INT(rows - gone));
	return s ? store_done(c, s) : -EIO;
}

static int store_event_one(struct store_conn *c, struct store_event *e, int per_node,
			   int64_t *added)
{
	if (e->node_id == 0)
		return store_event_discovered(c, e);
	int rc = e->row > 0 ? store_event_more(c, e) : 0;
	if (rc < 0)
		return rc;
	int fresh = rc == 0; /* a new row, not more of one */
	if (fresh) {
		sqlite3_stmt *s =
			store_qc(c, ST_EVENT_ADD, STORE_INT(e->node_id), STORE_INT(e->time_us),
				 STORE_TEXT(e->stage), STORE_TEXT(e->source), STORE_TEXT(e->detail),
				 STORE_INT(e->count), STORE_INT(e->last_us));
		if (s == NULL)
			return -EIO;
		rc = store_done(c, s);
		if (rc == -EEXIST) {
			e->row = 0;
			return 0; /* the node was deleted meanwhile: drop its event */
		}
		if (rc < 0)
			return rc;
		e->row = sqlite3_last_insert_rowid(c->db);
		(*added)++;
	}
	sqlite3_stmt *s = store_qc(c, ST_EVENT_NODE, STORE_INT(e->node_id), STORE_TEXT(e->stage),
				   STORE_INT(e->last_us), STORE_TEXT(e->state), STORE_INT(fresh));
	if (s == NULL)
		return -EIO;
	rc = store_step(c, s);
	if (rc < 0)
		return rc;
	int64_t rows = rc == 1 ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (fresh && (rc = store_event_cap(c, e->node_id, rows, per_node, added)) < 0)
		return rc;
	if (e->mac[0] == '\0' || e->source[0] == '\0')
		return 0;
	s = store_qc(c, ST_EVENT_LAST_IP, STORE_TEXT(e->mac), STORE_TEXT(e->source));
	return s ? store_done(c, s) : -EIO;
}

int store_events_write(struct store *st, struct store_event *ev, size_t n, int per_node,
		       int64_t *added)
{
	struct store_conn *c;
	int64_t more = 0;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = store_event_one(c, &ev[i], per_node, &more);
	rc = store_write_end(st, c, rc, false);
	if (rc == 0)
		*added = more;
	return rc;
}

static json_t *store_event_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:o, s:s, s:s, s:s, s:I, s:o, s:o}", "time", store_col_time(s, 0),
			 "stage", store_col_text(s, 1), "source", store_col_text(s, 2), "detail",
			 store_col_text(s, 3), "count", (json_int_t)sqlite3_column_int64(s, 4),
			 "first", store_col_time(s, 0), "last", store_col_time(s, 5));
}

int store_events_list(struct store *st, int64_t node_id, long long limit, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_EVENT_LIST, STORE_INT(node_id), STORE_INT(limit));
	return s ? store_rows(c, s, store_event_row, NULL, out) : -EIO;
}

int store_events_count(struct store *st, int64_t *out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_EVENT_COUNT);
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0)
		*out = sqlite3_column_int64(s, 0);
	store_release(st);
	return rc;
}

int store_events_prune(struct store *st, int64_t before_us, int64_t excess, int limit,
		       int64_t *deleted)
{
	struct store_conn *c;
	int64_t gone = 0;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *s = store_qc(c, ST_EVENT_PRUNE, STORE_INT(before_us), STORE_INT(limit));
	rc = s ? store_done(c, s) : -EIO;
	if (rc == 0)
		gone = sqlite3_changes64(c->db);
	if (rc == 0 && excess > gone) {
		int64_t more = excess - gone < limit ? excess - gone : limit;
		s = store_qc(c, ST_EVENT_CAP, STORE_INT(more));
		rc = s ? store_done(c, s) : -EIO;
		if (rc == 0)
			gone += sqlite3_changes64(c->db);
	}
	rc = store_write_end(st, c, rc, false);
	if (rc == 0)
		*deleted = gone;
	return rc;
}

int store_discovered_prune(struct store *st, int64_t before_us, int limit)
{
	struct store_conn *c;
	sqlite3_stmt *s =
		store_q(st, &c, ST_DISCOVERED_PRUNE, STORE_INT(before_us), STORE_INT(limit));
	return s ? store_done(c, s) : -EIO;
}
