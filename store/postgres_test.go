package store

import (
	"context"
	"testing"

	"github.com/postseal/postseal/store/pgtest"
)

func TestPostgresSuite(t *testing.T) {
	runSuite(t, func(t *testing.T) database {
		dsn := pgtest.DSN(t)
		return func(key *MasterKey) (Store, error) { return OpenPostgres(context.Background(), dsn, key) }
	})
}
