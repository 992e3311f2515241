package cache

import (
	"context"
	"database/sql"
	"errors"
)

// FileState is a file as an import read it.
type FileState struct {
	Size  int64
	MTime int64 // Unix ns
}

// ImportedFiles are the files imports read for tenant, by path, as they
// were then (Writer.RememberFile).
func (c *Cache) ImportedFiles(ctx context.Context, tenant string) (map[string]FileState, error) {
	out := map[string]FileState{}
	var tid int64
	err := c.db.QueryRowContext(ctx, "SELECT id FROM tenants WHERE slug = ?", tenant).Scan(&tid)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, c.wrap(err)
	}
	rows, err := c.db.QueryContext(ctx, "SELECT path, size, mtime FROM imported_files WHERE tenant = ?", tid)
	if err != nil {
		return nil, c.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var path string
		var st FileState
		if err := rows.Scan(&path, &st.Size, &st.MTime); err != nil {
			return nil, c.wrap(err)
		}
		out[path] = st
	}
	return out, c.wrap(rows.Err())
}

// RememberFile records, with the import, that it read the file at path as
// st: the next import of the same directory passes it over if unchanged.
func (w *Writer) RememberFile(path string, st FileState) error {
	_, err := w.tx.ExecContext(w.ctx, "INSERT INTO imported_files (tenant, path, size, mtime) VALUES (?, ?, ?, ?) "+
		"ON CONFLICT (tenant, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime", w.tenant, path, st.Size, st.MTime)
	return w.c.wrap(err)
}
