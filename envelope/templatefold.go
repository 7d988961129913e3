package envelope

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/template/parse"
)

// The notification's templates per notifyKey are made in two passes over
// fresh parses of the loaded sources. Before html/template escapes,
// notifyFolder turns the configuration's values, and what takes only
// them, into constants where they stood: html/template then escapes each
// in its own context. Once escaped, flattenConst writes every action that
// takes only constants (with its escapers) into the text it makes, and
// keeps of each condition that is a constant only the branch taken. The
// securedoc page's copy per pageKey is flattened the same way (see
// pageForKey).

// notifyFolder evaluates, in a template's own tree (not inside with or
// range, where dot is another value, nor in other templates it calls),
// what takes only constants and the configuration's fields (vals): a
// field, {{.T "sentence" args}}, print, printf, wrap, eq, ne, not, and,
// or; a command whose value is a string or a bool becomes that constant.
// Anything else (the message's fields, other functions, variables) stays
// as it is and is evaluated for each message.
type notifyFolder struct {
	lang string
	vals map[string]any
}

func (f *notifyFolder) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			f.pipe(n.Pipe)
		case *parse.IfNode:
			f.pipe(n.Pipe)
			f.list(n.List)
			f.list(n.ElseList)
		}
	}
}

// pipe folds p's commands' arguments and its first command, the only one
// that does not also take the previous command's value; it returns p's
// value when that is a constant.
func (f *notifyFolder) pipe(p *parse.PipeNode) (any, bool) {
	if p == nil {
		return nil, false
	}
	var v any
	ok := false
	for i, c := range p.Cmds {
		for j := 1; j < len(c.Args); j++ {
			if v, ok := f.arg(c.Args[j]); ok {
				c.Args[j] = constNode(c.Args[j], v)
			}
		}
		if i == 0 {
			if v, ok = f.cmd(c); ok {
				if n := constNode(c, v); n != parse.Node(c) {
					c.Args = []parse.Node{n}
				}
			}
		}
	}
	return v, ok && len(p.Cmds) == 1 && len(p.Decl) == 0
}

// arg is n's value when it is a constant or a configuration field.
func (f *notifyFolder) arg(n parse.Node) (any, bool) {
	switch n := n.(type) {
	case *parse.StringNode:
		return n.Text, true
	case *parse.BoolNode:
		return n.True, true
	case *parse.NumberNode:
		// Only plain decimal integers: text/template makes them int.
		if n.IsInt && strings.Trim(n.Text, "0123456789") == "" {
			return int(n.Int64), true
		}
	case *parse.FieldNode:
		if len(n.Ident) == 1 {
			v, ok := f.vals[n.Ident[0]]
			return v, ok
		}
	case *parse.PipeNode:
		return f.pipe(n)
	}
	return nil, false
}

// cmd is c's value when every argument of c is a constant and c is a
// field or a call notifyFolder knows.
func (f *notifyFolder) cmd(c *parse.CommandNode) (any, bool) {
	if len(c.Args) == 0 {
		return nil, false
	}
	args := make([]any, len(c.Args)-1)
	for j, a := range c.Args[1:] {
		v, ok := f.arg(a)
		if !ok {
			return nil, false
		}
		args[j] = v
	}
	if len(args) == 0 {
		switch c.Args[0].(type) {
		case *parse.StringNode, *parse.BoolNode, *parse.FieldNode, *parse.PipeNode:
			return f.arg(c.Args[0])
		}
	}
	switch n := c.Args[0].(type) {
	case *parse.FieldNode:
		if len(n.Ident) == 1 && n.Ident[0] == "T" && len(args) >= 1 {
			if format, ok := args[0].(string); ok {
				return catalog().Sprintf(f.lang, format, args[1:]...), true
			}
		}
	case *parse.IdentifierNode:
		return foldFunc(n.Ident, args)
	}
	return nil, false
}

// foldFunc is what the function name returns for constant args, when it
// is one notifyFolder knows and the call cannot fail.
func foldFunc(name string, args []any) (any, bool) {
	switch name {
	case "print":
		return fmt.Sprint(args...), true
	case "printf":
		if len(args) >= 1 {
			if format, ok := args[0].(string); ok {
				return fmt.Sprintf(format, args[1:]...), true
			}
		}
	case "wrap":
		if len(args) == 1 {
			if s, ok := args[0].(string); ok {
				return wrapText(s, 72), true
			}
		}
	case "eq", "ne":
		if len(args) == 2 && reflect.TypeOf(args[0]) == reflect.TypeOf(args[1]) {
			return (args[0] == args[1]) == (name == "eq"), true
		}
	case "not":
		if len(args) == 1 {
			return !truth(args[0]), true
		}
	case "and", "or":
		if len(args) == 0 {
			return nil, false
		}
		// The first argument that decides, as text/template returns it.
		for _, a := range args[:len(args)-1] {
			if truth(a) == (name == "or") {
				return a, true
			}
		}
		return args[len(args)-1], true
	}
	return nil, false
}

// truth is text/template's truth of the constants notifyFolder makes.
func truth(v any) bool {
	switch v := v.(type) {
	case string:
		return v != ""
	case bool:
		return v
	case int:
		return v != 0
	}
	return false
}

// constNode is a node for v (a string or a bool) where n stood; any other
// value leaves n.
func constNode(n parse.Node, v any) parse.Node {
	switch v := v.(type) {
	case string:
		return &parse.StringNode{NodeType: parse.NodeString, Pos: n.Position(), Quoted: strconv.Quote(v), Text: v}
	case bool:
		return &parse.BoolNode{NodeType: parse.NodeBool, Pos: n.Position(), True: v}
	}
	return n
}

// flattenConst replaces, in list (the template's own tree, not inside
// with or range), each action whose pipeline isConst (escapers set: its
// value may go through html/template's escapers) with what it writes, and
// each if whose condition isConst with the branch it takes. exec executes
// the template, with its data, with root.Nodes for its tree: the escapers
// are html/template's own, run once here instead of for every message. It
// must run after html/template has escaped the tree and before the
// template is shared.
func flattenConst(root, list *parse.ListNode, isConst func(p *parse.PipeNode, escapers bool) bool, exec func(io.Writer) error) {
	if list == nil {
		return
	}
	var out []parse.Node
	add := func(n parse.Node) {
		if t, ok := n.(*parse.TextNode); ok && len(out) > 0 {
			if prev, ok := out[len(out)-1].(*parse.TextNode); ok {
				// A new node: the parse's own may be shared with
				// other trees.
				out[len(out)-1] = &parse.TextNode{NodeType: parse.NodeText, Pos: prev.Pos, Text: append(append([]byte(nil), prev.Text...), t.Text...)}
				return
			}
		}
		out = append(out, n)
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if isConst(n.Pipe, true) {
				if out, err := execNode(root, n, exec); err == nil {
					add(&parse.TextNode{NodeType: parse.NodeText, Pos: n.Pos, Text: []byte(out)})
					continue
				}
			}
		case *parse.IfNode:
			flattenConst(root, n.List, isConst, exec)
			flattenConst(root, n.ElseList, isConst, exec)
			if isConst(n.Pipe, false) {
				// The condition's truth as the template sees it.
				probe := &parse.IfNode{BranchNode: parse.BranchNode{NodeType: parse.NodeIf, Pos: n.Pos, Line: n.Line, Pipe: n.Pipe,
					List: &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos, Nodes: []parse.Node{&parse.TextNode{NodeType: parse.NodeText, Pos: n.Pos, Text: []byte("1")}}}}}
				out, err := execNode(root, probe, exec)
				if err != nil {
					add(n)
					continue
				}
				taken := n.ElseList
				if out == "1" {
					taken = n.List
				}
				if declares(taken) {
					// A variable declared in the branch ends with it:
					// spliced into list, it would outlive the branch
					// and shadow an outer one of its name.
					add(n)
					continue
				}
				if taken != nil {
					for _, c := range taken.Nodes {
						add(c)
					}
				}
				continue
			}
		}
		add(n)
	}
	list.Nodes = out
}

// declares reports whether l declares a variable ({{$x := …}}) at its
// own level.
func declares(l *parse.ListNode) bool {
	if l == nil {
		return false
	}
	for _, n := range l.Nodes {
		if a, ok := n.(*parse.ActionNode); ok && len(a.Pipe.Decl) > 0 && !a.Pipe.IsAssign {
			return true
		}
	}
	return false
}

// execNode is what n writes, executed alone in root's template.
func execNode(root *parse.ListNode, n parse.Node, exec func(io.Writer) error) (string, error) {
	saved := root.Nodes
	root.Nodes = []parse.Node{n}
	var b strings.Builder
	err := exec(&b)
	root.Nodes = saved
	return b.String(), err
}

// constPipe reports whether p is a string or bool constant, followed by
// html/template's escapers (pure functions of what they are given) when
// escapers is set.
func constPipe(p *parse.PipeNode, escapers bool) bool {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch p.Cmds[0].Args[0].(type) {
	case *parse.StringNode, *parse.BoolNode:
	default:
		return false
	}
	return escapersOnly(p, escapers)
}

// escapersOnly reports whether p's commands after the first are
// html/template's escapers (pure functions of what they are given), and
// p has no such commands when escapers is not set.
func escapersOnly(p *parse.PipeNode, escapers bool) bool {
	if !escapers {
		return len(p.Cmds) == 1
	}
	for _, c := range p.Cmds[1:] {
		if len(c.Args) != 1 {
			return false
		}
		id, ok := c.Args[0].(*parse.IdentifierNode)
		if !ok || !(strings.HasPrefix(id.Ident, "_html_template_") || id.Ident == "_eval_args_") {
			return false
		}
	}
	return true
}
