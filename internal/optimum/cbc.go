package optimum

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ur "usagereport"
)

// ErrNoSolver reports that CBC is not installed (scripts/ensure-cbc installs it).
var ErrNoSolver = errors.New("cbc not found (scripts/ensure-cbc installs Debian's coinor-cbc)")

// Solution is CBC's answer to one problem.
type Solution struct {
	Hidden    []bool  // per cell
	Objective float64 // as CBC computed it
	Optimal   bool    // false: stopped at the time limit with the best pattern found
}

// Solve writes the problem to a temporary LP file, runs CBC on it with the time
// limit, and reads the pattern back.
func Solve(ctx context.Context, p *Problem, obj Objective, limit time.Duration) (sol Solution, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("optimum by %s of %d cells: %w", obj, len(p.Cells), err)
		}
	}()
	cbc, err := exec.LookPath("cbc")
	if err != nil {
		return Solution{}, ErrNoSolver
	}
	dir, err := os.MkdirTemp("", "optimum")
	if err != nil {
		return Solution{}, err
	}
	defer os.RemoveAll(dir)
	lp, out := filepath.Join(dir, "model.lp"), filepath.Join(dir, "solution.txt")
	f, err := os.Create(lp)
	if err != nil {
		return Solution{}, err
	}
	if err := p.WriteLP(f, obj); err != nil {
		f.Close()
		return Solution{}, err
	}
	if err := f.Close(); err != nil {
		return Solution{}, err
	}
	secs := strconv.Itoa(max(1, int(limit.Seconds())))
	cmd := exec.CommandContext(ctx, cbc, lp, "sec", secs, "threads", "1", "solve", "solu", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Solution{}, fmt.Errorf("cbc: %w\n%s", err, tail(msg))
	}
	return readSolution(out, len(p.Cells))
}

func readSolution(path string, cells int) (Solution, error) {
	f, err := os.Open(path)
	if err != nil {
		return Solution{}, err
	}
	defer f.Close()
	sol := Solution{Hidden: make([]bool, cells)}
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return Solution{}, fmt.Errorf("cbc wrote an empty solution")
	}
	status := sc.Text()
	switch {
	case strings.HasPrefix(status, "Optimal"):
		sol.Optimal = true
	case strings.HasPrefix(status, "Stopped on time") && strings.Contains(status, "objective value"):
	default:
		return Solution{}, fmt.Errorf("cbc: %s", status)
	}
	if i := strings.LastIndex(status, "objective value"); i >= 0 {
		sol.Objective, _ = strconv.ParseFloat(strings.TrimSpace(status[i+len("objective value"):]), 64)
	}
	for sc.Scan() {
		fs := strings.Fields(strings.TrimPrefix(sc.Text(), "**"))
		if len(fs) < 3 || !strings.HasPrefix(fs[1], "x") {
			continue
		}
		i, err := strconv.Atoi(fs[1][1:])
		if err != nil || i < 0 || i >= cells {
			continue
		}
		v, err := strconv.ParseFloat(fs[2], 64)
		if err != nil {
			return Solution{}, fmt.Errorf("cbc solution line %q: %w", sc.Text(), err)
		}
		sol.Hidden[i] = v > 0.5
	}
	return sol, sc.Err()
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// Apply returns the problem's cells with the solution's pattern: primary cells
// keep their reason, the others it hides become secondary.
func (p *Problem) Apply(sol Solution) []ur.Cell {
	cs := make([]ur.Cell, len(p.Cells))
	copy(cs, p.Cells)
	for i := range cs {
		if !cs[i].Suppression.Hidden() && sol.Hidden[i] {
			cs[i].Suppression = ur.HiddenSecondary
		}
	}
	return cs
}
