package alter

import "fmt"

// Kind is what one ALTER specification does, as far as godwit cares: how it
// changes the column mapping, the keys, or whether godwit runs it at all.
type Kind int

// The zero Kind is Unknown so that a Spec nobody classified never passes for
// a real change.
const (
	Unknown Kind = iota

	// Columns.
	AddColumn
	DropColumn
	ModifyColumn
	ChangeColumn
	RenameColumn
	AlterColumnDefault

	// Keys and indexes.
	AddIndex
	AddUniqueKey
	AddPrimaryKey
	AddFulltextIndex
	DropIndex
	DropPrimaryKey
	RenameIndex
	IndexVisibility

	// The table as a whole.
	ConvertCharset
	TableOption
	Force
	AddCheck
	DropCheck
	AlterCheck
	PartitionBy
	RemovePartitioning

	// Kinds below are always refused (see refuse.go); they are classified
	// anyway so the refusal can name what it refuses.
	AddForeignKey
	DropForeignKey
	PartitionMaintenance
	Algorithm
	Lock
	RenameTable
	OrderBy
	Tablespace
	Keys
	TiDBOnly
)

// Stable names: they appear in plans, JSON output and scripts, so never
// rename one.
var kindNames = [...]string{
	Unknown:              "unknown",
	AddColumn:            "add-column",
	DropColumn:           "drop-column",
	ModifyColumn:         "modify-column",
	ChangeColumn:         "change-column",
	RenameColumn:         "rename-column",
	AlterColumnDefault:   "alter-column-default",
	AddIndex:             "add-index",
	AddUniqueKey:         "add-unique-key",
	AddPrimaryKey:        "add-primary-key",
	AddFulltextIndex:     "add-fulltext-index",
	DropIndex:            "drop-index",
	DropPrimaryKey:       "drop-primary-key",
	RenameIndex:          "rename-index",
	IndexVisibility:      "index-visibility",
	ConvertCharset:       "convert-charset",
	TableOption:          "table-option",
	Force:                "force",
	AddCheck:             "add-check",
	DropCheck:            "drop-check",
	AlterCheck:           "alter-check",
	PartitionBy:          "partition-by",
	RemovePartitioning:   "remove-partitioning",
	AddForeignKey:        "add-foreign-key",
	DropForeignKey:       "drop-foreign-key",
	PartitionMaintenance: "partition-maintenance",
	Algorithm:            "algorithm",
	Lock:                 "lock",
	RenameTable:          "rename-table",
	OrderBy:              "order-by",
	Tablespace:           "tablespace",
	Keys:                 "keys",
	TiDBOnly:             "tidb-only",
}

// String returns the Kind's stable lower-case name, e.g. "add-column".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MarshalText makes a Kind appear by name in JSON output.
func (k Kind) MarshalText() ([]byte, error) {
	return []byte(k.String()), nil
}
