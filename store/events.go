// The SQL store's event queries (the chain itself is in audit.go).

package store

import (
	"context"
	"fmt"
	"strings"
)

// eventWhere builds the WHERE clause of a filter.
func eventWhere(f EventFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Email != "" {
		add("email = ?", strings.ToLower(f.Email))
	}
	if f.EnvelopeID != "" {
		add("envelope_id = ?", f.EnvelopeID)
	}
	if f.RemoteIP != "" {
		// events_ip_time holds only events with an address (putPagesSchema):
		// the planners use a partial index only for a query that says so.
		add("remote_ip = ? AND remote_ip <> ''", f.RemoteIP)
	}
	if !f.Since.IsZero() {
		add("time >= ?", f.Since.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Events implements Events.
func (s *sqlStore) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	where, args := eventWhere(f)
	args = append(args, limitOrAll(f.Limit))
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+eventColumns+` FROM events`+where+` ORDER BY time DESC, id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// CountEvents implements Events.
func (s *sqlStore) CountEvents(ctx context.Context, f EventFilter) (int, error) {
	where, args := eventWhere(f)
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events`+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
