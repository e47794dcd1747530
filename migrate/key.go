package migrate

import (
	"fmt"
	"strings"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/migrate/alter"
)

// chooseKey picks the key rows are chunked and applied by: the primary key,
// else a unique key over NOT NULL columns. The ALTER must keep its columns,
// and when the shadow is known, the shadow must index them as a leading
// prefix, or every applied change would scan the shadow.
func chooseKey(src, shadow *tableinfo.Table, ch *alter.Change) (copier.Key, error) {
	var why []string
	for _, ix := range src.Indexes {
		if !ix.Unique {
			continue
		}
		k, err := keyFrom(src, shadow, ch, ix)
		if err == nil {
			return k, nil
		}
		why = append(why, fmt.Sprintf("%s: %v", ix.Name, err))
	}
	reason := "the table has no primary key and no unique key over NOT NULL columns"
	if len(why) > 0 {
		reason = "no key can be used (" + strings.Join(why, "; ") + ")"
	}
	return copier.Key{}, refuse("key", "Add a primary key first (for example an AUTO_INCREMENT id) or keep one in the ALTER.", "%s", reason)
}

func keyFrom(src, shadow *tableinfo.Table, ch *alter.Change, ix tableinfo.Index) (copier.Key, error) {
	if ix.Prefix {
		return copier.Key{}, fmt.Errorf("indexes a prefix or an expression")
	}
	k := copier.Key{Index: ix.Name}
	for _, name := range ix.Columns {
		col, ok := src.Column(name)
		if !ok {
			return copier.Key{}, fmt.Errorf("column %s not found", name)
		}
		if col.Nullable {
			return copier.Key{}, fmt.Errorf("column %s is nullable", name)
		}
		if !copier.SupportedKeyType(*col) {
			return copier.Key{}, fmt.Errorf("column %s has type %s, which cannot be compared exactly", name, col.DataType)
		}
		newName, kept := ch.NewName(col.Name)
		if !kept {
			return copier.Key{}, fmt.Errorf("the ALTER drops column %s", name)
		}
		k.Columns = append(k.Columns, copier.KeyColumn{Column: *col, ShadowName: newName})
	}
	if shadow == nil {
		return k, nil
	}
	for i, c := range k.Columns {
		sc, ok := shadow.Column(c.ShadowName)
		if !ok {
			return copier.Key{}, fmt.Errorf("the new table has no column %s", c.ShadowName)
		}
		if c.DataType == "enum" && sc.ColumnType != c.ColumnType {
			if sc.DataType != "enum" {
				return copier.Key{}, fmt.Errorf("the ALTER changes column %s from %s to %s, which orders rows another way", c.Name, c.ColumnType, sc.ColumnType)
			}
			k.Columns[i].ShadowMembers = tableinfo.Members(sc.ColumnType)
		}
	}
	if !shadowIndexes(shadow, k) {
		return copier.Key{}, fmt.Errorf("the new table has no index starting with its columns")
	}
	return k, nil
}

func shadowIndexes(shadow *tableinfo.Table, k copier.Key) bool {
	for _, ix := range shadow.Indexes {
		if len(ix.Columns) < len(k.Columns) {
			continue
		}
		lead := map[string]bool{}
		for _, c := range ix.Columns[:len(k.Columns)] {
			lead[strings.ToLower(c)] = true
		}
		all := true
		for _, c := range k.Columns {
			all = all && lead[strings.ToLower(c.ShadowName)]
		}
		if all {
			return true
		}
	}
	return false
}
