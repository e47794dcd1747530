package alter

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// classify turns parsed specs into a Change, refusing the first spec godwit
// will not run. Column mapping follows the server's rule that the specs of
// one ALTER refer to the columns of the original table, which is what makes
// "DROP COLUMN c, ADD COLUMN c ..." and swapping two names work.
func classify(specs []*ast.AlterTableSpec, table string) (*Change, error) {
	c := &Change{Renamed: map[string]string{}}
	for _, s := range specs {
		spec := classifySpec(s)
		if r := refuseSpec(spec, table); r != nil {
			return nil, r
		}
		if inlineForeignKey(s) {
			return nil, refuseSpec(Spec{Kind: AddForeignKey, Text: spec.Text + " (with a foreign key)"}, table)
		}
		c.Specs = append(c.Specs, spec)
		c.record(s, spec)
	}
	return c, nil
}

func classifySpec(s *ast.AlterTableSpec) Spec {
	spec := Spec{Kind: kindOf(s), AST: s}
	switch spec.Kind {
	case AddColumn:
		for _, d := range s.NewColumns {
			spec.Columns = append(spec.Columns, d.Name.Name.O)
			spec.Unique = spec.Unique || inlineUnique(d)
		}
		for _, k := range s.NewConstraints {
			spec.Unique = spec.Unique || constraintUnique(k)
		}
	case ModifyColumn, ChangeColumn:
		spec.Columns = []string{s.NewColumns[0].Name.Name.O}
		spec.Unique = inlineUnique(s.NewColumns[0])
	case DropColumn:
		spec.Columns = []string{s.OldColumnName.Name.O}
	case RenameColumn:
		spec.Columns = []string{s.NewColumnName.Name.O}
	case AlterColumnDefault:
		spec.Columns = []string{s.NewColumns[0].Name.Name.O}
	case AddIndex, AddUniqueKey, AddPrimaryKey, AddFulltextIndex, AddForeignKey, AddCheck:
		spec.Index = s.Constraint.Name
		spec.Columns = keyColumns(s.Constraint.Keys)
		spec.Unique = constraintUnique(s.Constraint)
	case DropIndex, DropForeignKey:
		spec.Index = s.Name
	case DropPrimaryKey:
		spec.Index = s.Name // "PRIMARY" when written as DROP INDEX `PRIMARY`
	case RenameIndex:
		spec.Index = s.ToKey.O
	case IndexVisibility:
		spec.Index = s.IndexName.O
	case DropCheck, AlterCheck:
		spec.Index = s.Constraint.Name
	}
	spec.Text = describe(s, spec)
	return spec
}

func kindOf(s *ast.AlterTableSpec) Kind {
	switch s.Tp {
	case ast.AlterTableOption:
		if len(s.Options) > 0 && s.Options[0].Tp == ast.TableOptionCharset &&
			s.Options[0].UintValue == ast.TableOptionCharsetWithConvertTo {
			return ConvertCharset
		}
		return TableOption
	case ast.AlterTableAddColumns:
		return AddColumn
	case ast.AlterTableAddConstraint:
		return constraintKind(s.Constraint)
	case ast.AlterTableDropColumn:
		return DropColumn
	case ast.AlterTableDropPrimaryKey:
		return DropPrimaryKey
	case ast.AlterTableDropIndex:
		// DROP INDEX `PRIMARY` drops the primary key.
		if strings.EqualFold(s.Name, "PRIMARY") {
			return DropPrimaryKey
		}
		return DropIndex
	case ast.AlterTableDropForeignKey:
		return DropForeignKey
	case ast.AlterTableModifyColumn:
		return ModifyColumn
	case ast.AlterTableChangeColumn:
		return ChangeColumn
	case ast.AlterTableRenameColumn:
		return RenameColumn
	case ast.AlterTableRenameTable:
		return RenameTable
	case ast.AlterTableAlterColumn:
		return AlterColumnDefault
	case ast.AlterTableLock:
		return Lock
	case ast.AlterTableAlgorithm:
		return Algorithm
	case ast.AlterTableRenameIndex:
		return RenameIndex
	case ast.AlterTableForce:
		return Force
	case ast.AlterTablePartition:
		return PartitionBy
	case ast.AlterTableRemovePartitioning:
		return RemovePartitioning
	case ast.AlterTableAddPartitions, ast.AlterTableCoalescePartitions, ast.AlterTableDropPartition,
		ast.AlterTableTruncatePartition, ast.AlterTableRebuildPartition, ast.AlterTableReorganizePartition,
		ast.AlterTableCheckPartitions, ast.AlterTableExchangePartition, ast.AlterTableOptimizePartition,
		ast.AlterTableRepairPartition, ast.AlterTableImportPartitionTablespace,
		ast.AlterTableDiscardPartitionTablespace, ast.AlterTableWithValidation, ast.AlterTableWithoutValidation:
		return PartitionMaintenance
	case ast.AlterTableEnableKeys, ast.AlterTableDisableKeys:
		return Keys
	case ast.AlterTableAlterCheck:
		return AlterCheck
	case ast.AlterTableDropCheck:
		return DropCheck
	case ast.AlterTableImportTablespace, ast.AlterTableDiscardTablespace:
		return Tablespace
	case ast.AlterTableIndexInvisible:
		return IndexVisibility
	case ast.AlterTableOrderByColumns:
		return OrderBy
	case ast.AlterTableSetTiFlashReplica, ast.AlterTableAddStatistics, ast.AlterTableDropStatistics,
		ast.AlterTableAttributes, ast.AlterTablePartitionAttributes, ast.AlterTablePartitionOptions,
		ast.AlterTableCache, ast.AlterTableNoCache, ast.AlterTableStatsOptions, ast.AlterTableWriteable,
		ast.AlterTableDropFirstPartition, ast.AlterTableAddLastPartition,
		ast.AlterTableReorganizeLastPartition, ast.AlterTableReorganizeFirstPartition,
		ast.AlterTableRemoveTTL, ast.AlterTableSplitIndex,
		ast.AlterTableAddMaskingPolicy, ast.AlterTableEnableMaskingPolicy, ast.AlterTableDisableMaskingPolicy,
		ast.AlterTableDropMaskingPolicy, ast.AlterTableModifyMaskingPolicyExpression,
		ast.AlterTableModifyMaskingPolicyRestrictOn:
		return TiDBOnly
	}
	// Anything else (SECONDARY_LOAD, types added to the parser later) is
	// Unknown, and Unknown is refused.
	return Unknown
}

func constraintKind(k *ast.Constraint) Kind {
	switch k.Tp {
	case ast.ConstraintPrimaryKey:
		return AddPrimaryKey
	case ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintVector:
		return AddIndex
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		return AddUniqueKey
	case ast.ConstraintFulltext:
		return AddFulltextIndex
	case ast.ConstraintForeignKey:
		return AddForeignKey
	case ast.ConstraintCheck:
		return AddCheck
	case ast.ConstraintColumnar:
		return TiDBOnly
	}
	return Unknown
}

func constraintUnique(k *ast.Constraint) bool {
	switch k.Tp {
	case ast.ConstraintPrimaryKey, ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		return true
	}
	return false
}

func inlineUnique(d *ast.ColumnDef) bool {
	for _, o := range d.Options {
		if o.Tp == ast.ColumnOptionUniqKey || o.Tp == ast.ColumnOptionPrimaryKey {
			return true
		}
	}
	return false
}

func inlinePrimaryKey(s *ast.AlterTableSpec) bool {
	return inlineKey(s, ast.ColumnOptionPrimaryKey, ast.ConstraintPrimaryKey)
}

// inlineForeignKey finds foreign keys hidden in column definitions
// (c INT REFERENCES p(id), which MariaDB 10.5+ creates) and in the
// constraint list of ADD COLUMN (...).
func inlineForeignKey(s *ast.AlterTableSpec) bool {
	return inlineKey(s, ast.ColumnOptionReference, ast.ConstraintForeignKey)
}

// inlineKey says whether a spec declares a key of a kind in one of its
// column definitions or in its own constraint list.
func inlineKey(s *ast.AlterTableSpec, opt ast.ColumnOptionType, con ast.ConstraintType) bool {
	for _, d := range s.NewColumns {
		for _, o := range d.Options {
			if o.Tp == opt {
				return true
			}
		}
	}
	for _, k := range s.NewConstraints {
		if k.Tp == con {
			return true
		}
	}
	return false
}

func keyColumns(keys []*ast.IndexPartSpecification) []string {
	var cols []string
	for _, k := range keys {
		if k.Column != nil {
			cols = append(cols, k.Column.Name.O)
		}
	}
	return cols
}

// record updates the column mapping and table-wide flags for one spec.
func (c *Change) record(s *ast.AlterTableSpec, spec Spec) {
	switch spec.Kind {
	case AddColumn:
		c.Added = append(c.Added, spec.Columns...)
	case DropColumn:
		c.Dropped = append(c.Dropped, spec.Columns...)
	case ModifyColumn:
		c.Modified = append(c.Modified, spec.Columns...)
	case ChangeColumn:
		c.rename(s.OldColumnName.Name.O, s.NewColumns[0].Name.Name.O)
		c.Modified = append(c.Modified, spec.Columns...)
	case RenameColumn:
		c.rename(s.OldColumnName.Name.O, s.NewColumnName.Name.O)
	case AddPrimaryKey, DropPrimaryKey:
		c.RebuildsPrimaryKey = true
	case ConvertCharset:
		c.ConvertsCharset = true
	case TableOption:
		for _, o := range s.Options {
			if o.Tp == ast.TableOptionCharset || o.Tp == ast.TableOptionCollate {
				c.ConvertsCharset = true
			}
		}
	}
	if inlinePrimaryKey(s) {
		c.RebuildsPrimaryKey = true
	}
}

// rename records old -> new unless the name is unchanged: CHANGE a a ...
// only modifies. A change of letter case is kept, since the new table shows
// the new spelling.
func (c *Change) rename(old, new string) {
	if old != new {
		c.Renamed[old] = new
	}
}
