package alter

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// describe builds Spec.Text. It is for people reading a plan, so it names
// things plainly and may restore pieces of the AST: the result is never run.
func describe(s *ast.AlterTableSpec, spec Spec) string {
	switch spec.Kind {
	case AddColumn:
		parts := make([]string, len(s.NewColumns))
		for i, d := range s.NewColumns {
			parts[i] = d.Name.Name.O + " " + typeText(d)
		}
		return "add column " + strings.Join(parts, ", ")
	case DropColumn:
		return "drop column " + s.OldColumnName.Name.O
	case ModifyColumn:
		d := s.NewColumns[0]
		return "modify column " + d.Name.Name.O + " " + typeText(d)
	case ChangeColumn:
		d := s.NewColumns[0]
		if old := s.OldColumnName.Name.O; old != d.Name.Name.O {
			return "change column " + old + " to " + d.Name.Name.O + " " + typeText(d)
		}
		return "change column " + d.Name.Name.O + " " + typeText(d)
	case RenameColumn:
		return "rename column " + s.OldColumnName.Name.O + " to " + s.NewColumnName.Name.O
	case AlterColumnDefault:
		d := s.NewColumns[0]
		if len(d.Options) == 0 {
			return "alter column " + d.Name.Name.O + " drop default"
		}
		return "alter column " + d.Name.Name.O + " set default " + restoreOr(d.Options[0].Expr, "(expression)")
	case AddIndex, AddUniqueKey, AddPrimaryKey, AddFulltextIndex, AddForeignKey:
		words := map[Kind]string{
			AddIndex: "add index", AddUniqueKey: "add unique key", AddPrimaryKey: "add primary key",
			AddFulltextIndex: "add fulltext index", AddForeignKey: "add foreign key",
		}[spec.Kind]
		if spec.Index != "" {
			words += " " + spec.Index
		}
		return words + " (" + keyText(s.Constraint.Keys) + ")"
	case AddCheck:
		return strings.TrimSpace("add check "+spec.Index) + " (" + restoreOr(s.Constraint.Expr, "expression") + ")"
	case DropIndex:
		return "drop index " + spec.Index
	case DropPrimaryKey:
		return "drop primary key"
	case DropForeignKey:
		return "drop foreign key " + spec.Index
	case DropCheck:
		return "drop check " + spec.Index
	case AlterCheck:
		if s.Constraint.Enforced {
			return "alter check " + spec.Index + " enforced"
		}
		return "alter check " + spec.Index + " not enforced"
	case RenameIndex:
		return "rename index " + s.FromKey.O + " to " + s.ToKey.O
	case IndexVisibility:
		return "alter index " + spec.Index + " " + strings.ToLower(visibility(s.Visibility))
	case ConvertCharset:
		// Charset and collation names are case-insensitive.
		return strings.ToLower(restoreOr(s, "convert to character set"))
	case TableOption:
		return "table options " + optionsText(s.Options)
	case Force:
		return "force a rebuild"
	case RemovePartitioning:
		return "remove partitioning"
	}
	// Partition clauses and refused specs: the restored spec is the most
	// recognisable description.
	return restoreOr(s, fmt.Sprintf("specification of type %d", s.Tp))
}

func typeText(d *ast.ColumnDef) string {
	if d.Tp == nil {
		return ""
	}
	var sb strings.Builder
	if err := d.Tp.Restore(format.NewRestoreCtx(restoreFlags, &sb)); err != nil {
		return d.Tp.String()
	}
	return sb.String()
}

func keyText(keys []*ast.IndexPartSpecification) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		if k.Column != nil {
			parts[i] = k.Column.Name.O
		} else {
			parts[i] = restoreOr(k.Expr, "(expression)")
		}
	}
	return strings.Join(parts, ", ")
}

func optionsText(opts []*ast.TableOption) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = restoreOr(o, "?")
	}
	return strings.Join(parts, ", ")
}

func visibility(v ast.IndexVisibility) string {
	switch v {
	case ast.IndexVisibilityVisible:
		return "VISIBLE"
	case ast.IndexVisibilityInvisible:
		return "INVISIBLE"
	}
	return ""
}

func restoreOr(n ast.Node, fallback string) string {
	if n == nil {
		return fallback
	}
	r, err := restore(n)
	if err != nil {
		return fallback
	}
	return r
}
