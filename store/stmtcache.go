package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the statements every sealed message runs prepared, by
// their text. Parsing an INSERT took about a fifth of the store's CPU time
// per envelope with SQLite (BenchmarkPutEnvelope). A cached statement is
// prepared once per connection (database/sql keeps it per connection) and
// bound to a transaction with Tx.StmtContext.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// execTx runs query (with "?" placeholders) in tx as a cached statement.
func (s *sqlStore) execTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.cached(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRowTx is execTx for a statement that returns one row.
func (s *sqlStore) queryRowTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Row, error) {
	st, err := s.cached(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// cached returns query's statement bound to tx (closed with it).
func (s *sqlStore) cached(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	st, ok := s.stmts.m[query]
	if !ok {
		var err error
		if st, err = s.db.PrepareContext(ctx, s.q(query)); err != nil {
			s.stmts.mu.Unlock()
			return nil, err
		}
		if s.stmts.m == nil {
			s.stmts.m = map[string]*sql.Stmt{}
		}
		s.stmts.m[query] = st
	}
	s.stmts.mu.Unlock()
	return tx.StmtContext(ctx, st), nil
}

// closeStmts closes the cached statements (before the database).
func (s *sqlStore) closeStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for q, st := range s.stmts.m {
		st.Close()
		delete(s.stmts.m, q)
	}
}
