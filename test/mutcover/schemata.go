package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
)

// Mutant schemata: instead of compiling one test binary per mutant (2 to
// 4 s of compile and link each here, hours for a package of thousands of
// mutants), every mutant of the package is written into one copy of its
// source behind a switch read from the environment, and that one binary
// runs once per mutant with POSTSEAL_MUTANT set to the mutant's number.
// Each operator the mutant changes becomes a call of a small generic
// function that computes the original or, when its mutant is the active
// one, the mutated operation:
//
//	a < b   ->  ((postsealMutantLSS(7, a, b)) != postsealMutantOn(8))
//	a + b   ->  postsealMutantADD(9, a, b)
//	-x      ->  postsealMutantNEG(10, x)
//	i++     ->  postsealMutantINC(11, &i)
//
// Each edit keeps the lines where they are, so a compile error names the
// line of the site that caused it. A site the rewrite cannot express (a
// constant expression, a string concatenation, an operand whose untyped
// constant would take another type, an element that is not addressable)
// fails to compile; its line's sites are then left as they were and those
// mutants go through one compile each, as before.

// mutant is one entry of the gremlins report.
type mutant struct {
	file     string // path relative to the module root
	typ      string
	line     int
	col      int
	status   string
	set      func(status string)
	schemaID int    // 0: not in the schemata binary
	typeArg  string // the helper's type argument, when inference picks another
}

// mark records the mutant's status.
func (m *mutant) mark(status string) {
	m.status = status
	m.set(status)
}

// call opens the helper call of a mutant: its name, type argument, number.
func call(name string, m *mutant, id int) string {
	if m.typeArg != "" {
		return fmt.Sprintf("postsealMutant%s[%s](%d, ", name, m.typeArg, id)
	}
	return fmt.Sprintf("postsealMutant%s(%d, ", name, id)
}

// edit inserts text at an offset, or replaces n bytes there.
type edit struct {
	off   int
	n     int // bytes replaced
	text  string
	close bool // a closing insert: deeper nodes first
	depth int
}

// schemaFile rewrites src, placing each mutant at (line, col) that the
// rewrite can express behind its switch, but the excluded ones. It returns
// the new source and the mutants it placed.
func schemaFile(name string, src []byte, muts []*mutant, excluded map[*mutant]bool, nextID *int) ([]byte, []*mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	type key struct{ line, col int }
	byPos := map[key][]*mutant{}
	for _, m := range muts {
		if !excluded[m] {
			byPos[key{m.line, m.col}] = append(byPos[key{m.line, m.col}], m)
		}
	}
	constDepth := 0 // inside a const declaration or an array length
	var edits []edit
	var placed []*mutant
	var stack []ast.Node
	pos := func(p token.Pos) (int, key) {
		pp := fset.Position(p)
		return pp.Offset, key{pp.Line, pp.Column}
	}
	id := func(m *mutant) int {
		*nextID++
		m.schemaID = *nextID
		placed = append(placed, m)
		return m.schemaID
	}
	of := func(ms []*mutant, typ string) *mutant {
		for _, m := range ms {
			if m.typ == typ {
				return m
			}
		}
		return nil
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if isConstContext(top) {
				constDepth--
			}
			return true
		}
		stack = append(stack, n)
		if isConstContext(n) {
			constDepth++
		}
		if constDepth > 0 {
			return true
		}
		d := len(stack)
		switch n := n.(type) {
		case *ast.BinaryExpr:
			opOff, k := pos(n.OpPos)
			ms := byPos[k]
			if len(ms) == 0 {
				return true
			}
			xOff, _ := pos(n.X.Pos())
			yEnd, _ := pos(n.Y.End())
			switch n.Op {
			case token.EQL, token.NEQ:
				if m := of(ms, "CONDITIONALS_NEGATION"); m != nil {
					edits = append(edits,
						edit{off: xOff, text: "((", depth: d},
						edit{off: yEnd, text: fmt.Sprintf(") != postsealMutantOn(%d))", id(m)), close: true, depth: d})
				}
			case token.LSS, token.LEQ, token.GTR, token.GEQ:
				neg, bnd := of(ms, "CONDITIONALS_NEGATION"), of(ms, "CONDITIONALS_BOUNDARY")
				if neg != nil {
					edits = append(edits,
						edit{off: xOff, text: "((", depth: d},
						edit{off: yEnd, text: fmt.Sprintf(") != postsealMutantOn(%d))", id(neg)), close: true, depth: d})
				}
				if bnd != nil {
					edits = append(edits,
						edit{off: xOff, text: call(opName(n.Op), bnd, id(bnd)), depth: d + 1},
						edit{off: opOff, n: len(n.Op.String()), text: ","},
						edit{off: yEnd, text: ")", close: true, depth: d + 1})
				}
			case token.ADD, token.SUB, token.MUL, token.QUO, token.REM:
				if m := of(ms, "ARITHMETIC_BASE"); m != nil {
					edits = append(edits,
						edit{off: xOff, text: call(opName(n.Op), m, id(m)), depth: d},
						edit{off: opOff, n: len(n.Op.String()), text: ","},
						edit{off: yEnd, text: ")", close: true, depth: d})
				}
			}
		case *ast.UnaryExpr:
			if n.Op != token.SUB {
				return true
			}
			opOff, k := pos(n.OpPos)
			if m := of(byPos[k], "INVERT_NEGATIVES"); m != nil {
				xEnd, _ := pos(n.X.End())
				edits = append(edits,
					edit{off: opOff, text: call("NEG", m, id(m)), depth: d},
					edit{off: opOff, n: 1},
					edit{off: xEnd, text: ")", close: true, depth: d})
			}
		case *ast.IncDecStmt:
			tokOff, k := pos(n.TokPos)
			if m := of(byPos[k], "INCREMENT_DECREMENT"); m != nil {
				xOff, _ := pos(n.X.Pos())
				name := "INC"
				if n.Tok == token.DEC {
					name = "DEC"
				}
				edits = append(edits,
					edit{off: xOff, text: fmt.Sprintf("postsealMutant%s(%d, &", name, id(m)), depth: d},
					edit{off: tokOff, n: 2, text: ")"})
			}
		}
		return true
	})
	return applyEdits(src, edits), placed, nil
}

// opName names the helper of an operator.
func opName(t token.Token) string {
	return map[token.Token]string{
		token.ADD: "ADD", token.SUB: "SUB", token.MUL: "MUL", token.QUO: "QUO", token.REM: "REM",
		token.LSS: "LSS", token.LEQ: "LEQ", token.GTR: "GTR", token.GEQ: "GEQ",
	}[t]
}

// isConstContext: a function call is not allowed there.
func isConstContext(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GenDecl:
		return n.Tok == token.CONST
	case *ast.ArrayType:
		return n.Len != nil
	}
	return false
}

// applyEdits writes src with the edits. At one offset, closing inserts go
// first (deepest first), then opening inserts (outermost first), then the
// replacement of the operator.
func applyEdits(src []byte, edits []edit) []byte {
	rank := func(e edit) (int, int) {
		switch {
		case e.close:
			return 0, -e.depth
		case e.n == 0:
			return 1, e.depth
		default:
			return 2, 0
		}
	}
	sort.SliceStable(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		if a.off != b.off {
			return a.off < b.off
		}
		ra, da := rank(a)
		rb, db := rank(b)
		if ra != rb {
			return ra < rb
		}
		return da < db
	})
	var b strings.Builder
	at := 0
	for _, e := range edits {
		if e.off < at {
			continue // inside a replaced span: cannot happen for operators
		}
		b.Write(src[at:e.off])
		b.WriteString(e.text)
		at = e.off + e.n
	}
	b.Write(src[at:])
	return []byte(b.String())
}

// schemataHelpers is the file added to the package: the switch and the
// operations, each computing the original unless its mutant is active.
func schemataHelpers(pkgName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `package %s

import (
	"cmp"
	"os"
	"strconv"
)

var postsealMutantActive, _ = strconv.Atoi(os.Getenv("POSTSEAL_MUTANT"))

func postsealMutantOn(id int) bool { return postsealMutantActive == id }

type postsealMutantInt interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

type postsealMutantNum interface {
	postsealMutantInt | ~float32 | ~float64
}

func postsealMutantNEG[T postsealMutantNum](id int, x T) T {
	if postsealMutantActive == id {
		return +x
	}
	return -x
}

func postsealMutantINC[T postsealMutantNum](id int, p *T) {
	if postsealMutantActive == id {
		*p--
	} else {
		*p++
	}
}

func postsealMutantDEC[T postsealMutantNum](id int, p *T) {
	if postsealMutantActive == id {
		*p++
	} else {
		*p--
	}
}

func postsealMutantREM[T postsealMutantInt](id int, x, y T) T {
	if postsealMutantActive == id {
		return x * y
	}
	return x %% y
}
`, pkgName)
	for _, op := range []struct{ name, orig, mut, constraint, result string }{
		{"ADD", "+", "-", "postsealMutantNum", "T"},
		{"SUB", "-", "+", "postsealMutantNum", "T"},
		{"MUL", "*", "/", "postsealMutantNum", "T"},
		{"QUO", "/", "*", "postsealMutantNum", "T"},
		{"LSS", "<", "<=", "cmp.Ordered", "bool"},
		{"LEQ", "<=", "<", "cmp.Ordered", "bool"},
		{"GTR", ">", ">=", "cmp.Ordered", "bool"},
		{"GEQ", ">=", ">", "cmp.Ordered", "bool"},
	} {
		fmt.Fprintf(&b, `
func postsealMutant%s[T %s](id int, x, y T) %s {
	if postsealMutantActive == id {
		return x %s y
	}
	return x %s y
}
`, op.name, op.constraint, op.result, op.mut, op.orig)
	}
	return b.String()
}

// packageName reads the package clause of a Go file.
func packageName(file string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.PackageClauseOnly)
	if err != nil {
		return "", err
	}
	return f.Name.Name, nil
}
