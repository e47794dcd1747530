package migrate

import (
	"context"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
)

// TestPlanResumable: the tables a killed run of the same change left are
// what migrate resumes, not leftovers; a different change is refused
// with the way out.
func TestPlanResumable(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	indexTable(ctx, t, sb, 5_000)
	opt := indexOptions(sb, true)
	killedAfterCopy(ctx, t, opt)

	check := func(p *Plan, name string) PlanCheck {
		t.Helper()
		cs := p.Check(name)
		if len(cs) != 1 {
			t.Fatalf("plan checks %q: %+v, want one", name, cs)
		}
		return cs[0]
	}
	p, err := NewPlan(ctx, PlanOptions{Options: opt})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(p, "resume"); c.Status != CheckOK {
		t.Errorf("resume check of the same change: %+v", c)
	}
	if c := check(p, "leftovers"); c.Status != CheckOK {
		t.Errorf("leftovers check of the same change: %+v", c)
	}
	if p.Verdict == VerdictRefused {
		t.Errorf("the same change was refused: %+v", p.Checks)
	}

	other := opt
	other.Alter = "ADD COLUMN extra INT"
	p, err = NewPlan(ctx, PlanOptions{Options: other})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(p, "resume"); c.Status != CheckRefused || c.Fix == "" {
		t.Errorf("resume check of another change: %+v, want refused with a fix", c)
	}
	if p.Verdict != VerdictRefused {
		t.Errorf("another change over the killed run's tables: verdict %s, want refused", p.Verdict)
	}
}
