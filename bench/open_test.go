package main

import "testing"

func TestMedianPhases(t *testing.T) {
	got := medianPhases([]string{
		"key=30 dearmor=80 parse=240",
		"key=10 dearmor=90 parse=200 render=5",
		"key=20 dearmor=70 parse=260",
	})
	// Each step's own median, in the order the steps first appear; a step
	// only one open reported is that open's value.
	if want := "key=20 dearmor=80 parse=240 render=5"; got != want {
		t.Errorf("medianPhases = %q, want %q", got, want)
	}
	if got := medianPhases([]string{"key=1 dearmor=2", "key=3 dearmor=4"}); got != "key=2 dearmor=3" {
		t.Errorf("two opens: %q, want the mean of the middle two", got)
	}
	if got := medianPhases(nil); got != "" {
		t.Errorf("no opens: %q", got)
	}
}
