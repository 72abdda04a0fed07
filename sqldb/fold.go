package sqldb

import (
	"database/sql/driver"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// sqliteLower is the SQL function that lower-cases text for search on
// SQLite. SQLite's own lower() folds ASCII only ("Ömer" stays "Ömer"), so a
// search for "ömer" would find the name on PostgreSQL and not on SQLite;
// this one follows Unicode, as PostgreSQL's lower() does.
const sqliteLower = "gatehouse_lower"

// registerSQLiteLower adds sqliteLower to every SQLite connection opened
// afterwards. The driver's registry is global, so it runs once.
var registerSQLiteLower = sync.OnceValue(func() error {
	return sqlite.RegisterFunction(sqliteLower, &sqlite.FunctionImpl{
		NArgs:         1,
		Deterministic: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			if s, ok := args[0].(string); ok {
				return strings.ToLower(s), nil
			}
			return args[0], nil
		},
	})
})

// lower is the name of the Unicode lower-casing function of tx's dialect.
func (tx *Tx) lower() string {
	if tx.db.dialect == SQLite {
		return sqliteLower
	}
	return "lower"
}
