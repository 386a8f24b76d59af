package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// printBenchReport prints the suite's table: one row per case (and per
// setting of atmo where it has several), the median of each implementation,
// and atmo's ratios to raw and to workerpool; then the derived figures
// (speedups, start-up ratios, memory per queued task).
func printBenchReport(w io.Writer, rep *benchReport) {
	m := rep.Machine
	runs := fmt.Sprintf("median of %d run(s)", rep.Settings.Runs)
	if n := rep.Settings.runsOf("roundtrip"); n != rep.Settings.Runs {
		runs += fmt.Sprintf(", %d for the round trip, CPU scaling and start-up", n)
	}
	fmt.Fprintf(w, "\natmo bench (%s settings, %s): %s, %d cores (%s), %s/%s, %s, %s\n",
		rep.Settings.Name, runs, orDash(m.CPU), m.CPUs, plural(m.HardwareConcurrency, "hardwareConcurrency"), m.OS, m.Arch, m.Browser, m.Go)
	fmt.Fprintln(w, "ratios are atmo's median ÷ raw's or workerpool's, in the row's unit (for µs and ms lower is better; for tasks/s higher)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tCASE\tUNIT\tRAW\tWORKERPOOL\tATMO JS\tATMO GO\tJS÷RAW\tJS÷WP\tGO÷RAW\tGO÷WP")
	for _, row := range benchRows(rep) {
		cells := []string{row.workload, row.name, row.unit}
		for _, impl := range benchImpls {
			if r := row.byImpl[impl]; r != nil {
				cells = append(cells, fmtFigure(r.Median))
			} else {
				cells = append(cells, "–")
			}
		}
		for _, impl := range []string{implAtmoJS, implAtmoGo} {
			r := row.byImpl[impl]
			if r == nil {
				cells = append(cells, "–", "–")
				continue
			}
			cells = append(cells, fmtRatio(r.VsRaw), fmtRatio(r.VsWorkerpool))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, line := range benchDerived(rep) {
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "suite time: %.0f s; load average %.2f before, %.2f after (on %d cores: above that, other work skewed the figures)\n",
		rep.Seconds, m.LoadBefore, m.LoadAfter, m.CPUs)
}

// benchRow is one line of the table.
type benchRow struct {
	workload, name, unit string
	byImpl               map[string]*benchResult
}

// benchRows lays the results out as rows: one per case and variant, where
// implementations without that variant show their one result.
func benchRows(rep *benchReport) []benchRow {
	var rows []benchRow
	type caseKey struct{ workload, name string }
	var order []caseKey
	byCase := map[caseKey][]*benchResult{}
	for i := range rep.Results {
		r := &rep.Results[i]
		k := caseKey{r.Workload, r.Case}
		if _, ok := byCase[k]; !ok {
			order = append(order, k)
		}
		byCase[k] = append(byCase[k], r)
	}
	for _, k := range order {
		rs := byCase[k]
		var variants []string
		seen := map[string]bool{}
		hasVariants := map[string]bool{}
		for _, r := range rs {
			if r.Variant != "" {
				hasVariants[r.Impl] = true
			}
		}
		// An implementation with variants may have a plain entry too (the
		// round trip's atmo JS): that one gets a row of its own.
		for _, r := range rs {
			if (r.Variant != "" || hasVariants[r.Impl]) && !seen[r.Variant] {
				seen[r.Variant] = true
				variants = append(variants, r.Variant)
			}
		}
		if len(variants) == 0 {
			variants = []string{""}
		}
		for _, v := range variants {
			row := benchRow{workload: k.workload, name: k.name, unit: rs[0].Unit, byImpl: map[string]*benchResult{}}
			if v != "" {
				row.name += " [atmo " + v + "]"
				if k.workload == "throughput" {
					for impl, c := range rep.Best {
						if fmt.Sprintf("Concurrency %d", c) == v {
							row.name += " best " + strings.TrimPrefix(impl, "atmo-")
						}
					}
				}
			}
			for _, r := range rs {
				if (hasVariants[r.Impl] && r.Variant == v) || (!hasVariants[r.Impl] && r.Variant == "") {
					row.byImpl[r.Impl] = r
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// benchDerived are the figures computed from several results.
func benchDerived(rep *benchReport) []string {
	var out []string
	find := func(workload, caseName, impl, variant string) *benchResult {
		for i := range rep.Results {
			r := &rep.Results[i]
			if r.Workload == workload && r.Case == caseName && r.Impl == impl && r.Variant == variant {
				return r
			}
		}
		return nil
	}
	variantsOf := func(workload, caseName, impl string) []string {
		var vs []string
		for _, r := range rep.Results {
			if r.Workload == workload && r.Case == caseName && r.Impl == impl {
				vs = append(vs, r.Variant)
			}
		}
		return vs
	}
	cases := func(workload string) []string {
		var names []string
		seen := map[string]bool{}
		for _, r := range rep.Results {
			if r.Workload == workload && !seen[r.Case] {
				seen[r.Case] = true
				names = append(names, r.Case)
			}
		}
		return names
	}

	if len(rep.Best) > 0 {
		var parts []string
		for _, impl := range []string{implAtmoJS, implAtmoGo} {
			if c, ok := rep.Best[impl]; ok {
				parts = append(parts, fmt.Sprintf("%s Concurrency %d", impl, c))
			}
		}
		out = append(out, "best throughput setting (used for main-thread and queue): "+strings.Join(parts, ", "))
	} else {
		// -only without throughput: nothing picked the best, so they ran
		// at benchPlan's default; say which, lest they be read as the best.
		for _, r := range rep.Results {
			if (r.Workload == "main-thread" || r.Workload == "queue") && r.Spec.Concurrency > 0 {
				out = append(out, fmt.Sprintf("main-thread and queue ran atmo at Concurrency %d: throughput, which picks the best, did not run", r.Spec.Concurrency))
				break
			}
		}
	}

	if rt := cases("roundtrip"); len(rt) == 1 {
		// The runs of a case are interleaved, so run i of atmo and run i of
		// raw shared the machine's state: their ratio, run by run, shows
		// how much of the spread is the machine's.
		raw := find("roundtrip", rt[0], implRaw, "")
		var parts []string
		for _, impl := range []string{implAtmoJS, implAtmoGo} {
			for _, v := range variantsOf("roundtrip", rt[0], impl) {
				r := find("roundtrip", rt[0], impl, v)
				if raw == nil || r == nil || len(r.Runs) != len(raw.Runs) || len(r.Runs) == 0 {
					continue
				}
				ratios := make([]float64, len(r.Runs))
				for i := range r.Runs {
					ratios[i] = r.Runs[i] / raw.Runs[i]
				}
				name := impl
				if v != "" {
					name += " (" + v + ")"
				}
				parts = append(parts, fmt.Sprintf("%s %.2f-%.2f× (median %.2f×)", name, slices.Min(ratios), slices.Max(ratios), median(ratios)))
			}
		}
		if len(parts) > 0 {
			out = append(out, "round trip ÷ raw, run by run (each pair measured side by side): "+strings.Join(parts, ", "))
		}
	}

	if cpu := cases("cpu"); len(cpu) == 2 {
		var parts []string
		for _, impl := range benchImpls {
			for _, v := range variantsOf("cpu", cpu[0], impl) {
				one, n := find("cpu", cpu[0], impl, v), find("cpu", cpu[1], impl, v)
				if one == nil || n == nil || n.Median <= 0 {
					continue
				}
				label := impl
				if v != "" {
					label += " (" + v + ")"
				}
				parts = append(parts, fmt.Sprintf("%s %.2f×", label, one.Median/n.Median))
			}
		}
		out = append(out, fmt.Sprintf("CPU scaling, speedup from 1 worker to %d: %s", rep.Machine.HardwareConcurrency, strings.Join(parts, ", ")))
	}

	if st := cases("startup"); len(st) >= 2 {
		first, last := st[0], st[len(st)-1]
		var parts []string
		for _, e := range []struct{ impl, variant, label string }{
			{implRaw, "", "raw (JS)"}, {implWorkerpool, "", "workerpool (JS)"}, {implAtmoJS, "", "atmo JS"},
			{implAtmoGo, "module compiled once, shared", "atmo Go shared"}, {implAtmoGo, "each worker compiles", "atmo Go each compiling"},
		} {
			a, b := find("startup", first, e.impl, e.variant), find("startup", last, e.impl, e.variant)
			if a != nil && b != nil && a.Median > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f×", e.label, b.Median/a.Median))
			}
		}
		out = append(out, fmt.Sprintf("start-up, %s ÷ %s: %s", strings.TrimSuffix(last, " ready"), strings.TrimSuffix(first, " ready"), strings.Join(parts, ", ")))
	}

	if mt := cases("main-thread"); len(mt) == 1 {
		var parts []string
		for _, impl := range benchImpls {
			if r := find("main-thread", mt[0], impl, ""); r != nil {
				parts = append(parts, fmt.Sprintf("%s %.2f", impl, r.Figures["submit_us_per_task"]))
			}
		}
		out = append(out, "main thread, time in the submit loop (performance.now), µs/task: "+strings.Join(parts, ", "))
	}

	if q := cases("queue"); len(q) > 0 {
		last := q[len(q)-1]
		var parts []string
		tasks := 0
		for _, impl := range benchImpls {
			if r := find("queue", last, impl, ""); r != nil {
				tasks = r.Spec.Tasks
				p := fmt.Sprintf("%s %.0f", impl, r.Figures["bytes_per_task"])
				if g, ok := r.Figures["go_bytes_per_task"]; ok {
					p += fmt.Sprintf(" (Go heap %.0f + JS heap %.0f)", g, r.Figures["js_bytes_per_task"])
				}
				parts = append(parts, p)
			}
		}
		out = append(out, fmt.Sprintf("queue, memory per queued task (%d tasks; JS heap after GC, plus the Go heap for atmo), bytes: %s",
			tasks, strings.Join(parts, ", ")))
		if line := queueGrowth(rep, q, find); line != "" {
			out = append(out, line)
		}
	}
	if !rep.Machine.PreciseMemory {
		out = append(out, "note: the browser gave no precise performance.memory or gc(); JS heap figures are coarse")
	}
	return out
}

// queueGrowth compares the per-task cost of the largest queue with the
// smallest's. With a base queue of a few tasks first (QueueBaseTasks), each
// cost is (drain − the base's drain) ÷ (tasks − the base's tasks): the
// start-up, in every drain, cancels out (divided by the task count alone,
// it weighed ten times more on the smaller queue, and a real superlinear
// growth could hide behind it). Without one, the drain ÷ tasks.
func queueGrowth(rep *benchReport, q []string, find func(workload, name, impl, variant string) *benchResult) string {
	sizes := q
	base := ""
	if rep.Settings.QueueBaseTasks > 0 && len(q) >= 3 {
		base, sizes = q[0], q[1:]
	}
	if len(sizes) < 2 {
		return ""
	}
	var parts []string
	for _, impl := range benchImpls {
		small, large := find("queue", sizes[0], impl, ""), find("queue", sizes[len(sizes)-1], impl, "")
		if small == nil || large == nil {
			continue
		}
		cost := func(r *benchResult) float64 { return r.Median }
		if base != "" {
			b := find("queue", base, impl, "")
			if b == nil {
				continue
			}
			cost = func(r *benchResult) float64 {
				return (r.Figures["drain_ms"] - b.Figures["drain_ms"]) / float64(r.Spec.Tasks-b.Spec.Tasks)
			}
		}
		if c := cost(small); c > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f×", impl, cost(large)/c))
		}
	}
	if base != "" {
		return "queue, per-task cost at the largest size ÷ at the smallest, the start-up (the base queue's drain) taken off both (1.00× is linear): " + strings.Join(parts, ", ")
	}
	return "queue, µs per task at the largest size ÷ at the smallest (1.00× is linear): " + strings.Join(parts, ", ")
}

func fmtFigure(v float64) string {
	switch {
	case v >= 1000:
		s := fmt.Sprintf("%.0f", v)
		// Thousands separators make tasks/s readable.
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

func orDash(s string) string {
	if s == "" {
		return "unknown CPU"
	}
	return s
}

func plural(n int, what string) string { return fmt.Sprintf("%s %d", what, n) }
