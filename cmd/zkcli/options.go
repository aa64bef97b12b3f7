package main

import (
	"strconv"
	"strings"
)

// This file reimplements what zkCli's commands get from Apache commons-cli 1.5's
// DefaultParser (the version Debian's ZooKeeper 3.8 uses): options anywhere among the
// arguments, "-sv"-style concatenation, "-v3" attached values, option groups, and the
// exception messages zkCli prints ("org.apache.commons.cli.UnrecognizedOptionException:
// Unrecognized option: -z", ...). Only short options exist in zkCli (reconfig's "file",
// "members", ... are multi-letter short options).

type optSpec struct {
	name   string
	hasArg bool
	desc   string
}

type optSet struct {
	opts          []optSpec
	group         []string // names in the one option group, in insertion order
	groupRequired bool
}

func (o *optSet) get(name string) *optSpec {
	for i := range o.opts {
		if o.opts[i].name == name {
			return &o.opts[i]
		}
	}
	return nil
}

func (o *optSet) inGroup(name string) bool {
	for _, g := range o.group {
		if g == name {
			return true
		}
	}
	return false
}

// cmdLine is a parsed command line (CommandLine): the non-option arguments, including the
// command name, and the options seen with their values.
type cmdLine struct {
	args   []string
	seen   []string
	values map[string][]string
}

func (c *cmdLine) has(name string) bool {
	for _, s := range c.seen {
		if s == name {
			return true
		}
	}
	return false
}

// value is getOptionValue: the first value given for the option ("" if none).
func (c *cmdLine) value(name string) string {
	if v := c.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseError is a commons-cli ParseException; zkCli prints it as Throwable.toString().
type parseError struct {
	class string
	msg   string
}

func (e *parseError) Error() string { return "org.apache.commons.cli." + e.class + ": " + e.msg }

type cliParser struct {
	set      *optSet
	cl       *cmdLine
	cur      string // option waiting for its value ("" none)
	curVals  int
	skip     bool
	selected string // the group's selected option
	expected bool   // the required group is still missing
}

// parse runs DefaultParser.parse(options, tokens).
func (o *optSet) parse(tokens []string) (*cmdLine, error) {
	p := &cliParser{set: o, cl: &cmdLine{values: map[string][]string{}}, expected: o.groupRequired}
	for _, t := range tokens {
		if err := p.token(t); err != nil {
			return nil, err
		}
	}
	if err := p.checkRequiredArgs(); err != nil {
		return nil, err
	}
	if p.expected {
		var b strings.Builder
		b.WriteString("Missing required option: [")
		for i, g := range o.group {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("-" + g)
			if s := o.get(g); s != nil && s.desc != "" {
				b.WriteString(" " + s.desc)
			}
		}
		b.WriteString("]")
		return nil, &parseError{"MissingOptionException", b.String()}
	}
	return p.cl, nil
}

func (p *cliParser) acceptsArg() bool {
	if p.cur == "" {
		return false
	}
	s := p.set.get(p.cur)
	return s != nil && s.hasArg && p.curVals < 1
}

func isNegativeNumber(t string) bool {
	_, err := strconv.ParseFloat(t, 64)
	return err == nil
}

func (p *cliParser) isShortOption(t string) bool {
	if !strings.HasPrefix(t, "-") || len(t) == 1 {
		return false
	}
	name := t[1:]
	if i := strings.IndexByte(t, '='); i >= 0 {
		name = t[1:i]
	}
	if p.set.get(name) != nil {
		return true
	}
	return len(name) > 0 && p.set.get(name[:1]) != nil
}

func (p *cliParser) isArgument(t string) bool {
	return !p.isShortOption(t) || isNegativeNumber(t)
}

// stripQuotes is Util.stripLeadingAndTrailingQuotes, applied to option values.
func stripQuotes(s string) string {
	if len(s) > 1 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s[1:len(s)-1], "\"") {
		return s[1 : len(s)-1]
	}
	return s
}

func (p *cliParser) addValue(v string) {
	p.cl.values[p.cur] = append(p.cl.values[p.cur], stripQuotes(v))
	p.curVals++
}

func (p *cliParser) token(t string) error {
	switch {
	case p.skip:
		p.cl.args = append(p.cl.args, t)
	case t == "--":
		p.skip = true
	case p.acceptsArg() && p.isArgument(t):
		p.addValue(t)
	case strings.HasPrefix(t, "--"):
		return &parseError{"UnrecognizedOptionException", "Unrecognized option: " + t}
	case strings.HasPrefix(t, "-") && t != "-":
		if err := p.shortOption(t); err != nil {
			return err
		}
	default:
		if err := p.unknown(t); err != nil {
			return err
		}
	}
	if p.cur != "" && !p.acceptsArg() {
		p.cur = ""
	}
	return nil
}

func (p *cliParser) unknown(t string) error {
	if strings.HasPrefix(t, "-") && len(t) > 1 {
		return &parseError{"UnrecognizedOptionException", "Unrecognized option: " + t}
	}
	p.cl.args = append(p.cl.args, t)
	return nil
}

func (p *cliParser) shortOption(token string) error {
	t := strings.TrimPrefix(token, "-")
	pos := strings.IndexByte(t, '=')
	switch {
	case len(t) == 1:
		if p.set.get(t) != nil {
			return p.handle(t)
		}
		return p.unknown(token)
	case pos == -1:
		if p.set.get(t) != nil {
			return p.handle(t)
		}
		return p.concatenated(token)
	default:
		opt, val := t[:pos], t[pos+1:]
		if len(opt) == 1 {
			if s := p.set.get(opt); s != nil && s.hasArg {
				if err := p.handle(opt); err != nil {
					return err
				}
				p.addValue(val)
				p.cur = ""
				return nil
			}
			return p.unknown(token)
		}
		return &parseError{"UnrecognizedOptionException", "Unrecognized option: " + token}
	}
}

func (p *cliParser) concatenated(token string) error {
	for i := 1; i < len(token); i++ {
		ch := token[i : i+1]
		if p.set.get(ch) == nil {
			return p.unknown(token)
		}
		if err := p.handle(ch); err != nil {
			return err
		}
		if p.cur != "" && len(token) != i+1 {
			p.addValue(token[i+1:])
			break
		}
	}
	return nil
}

func (p *cliParser) checkRequiredArgs() error {
	if p.cur != "" && p.curVals == 0 {
		if s := p.set.get(p.cur); s != nil && s.hasArg {
			return &parseError{"MissingArgumentException", "Missing argument for option: " + p.cur}
		}
	}
	return nil
}

func (p *cliParser) handle(name string) error {
	if err := p.checkRequiredArgs(); err != nil {
		return err
	}
	if p.set.inGroup(name) {
		p.expected = false
		if p.selected != "" && p.selected != name {
			return &parseError{"AlreadySelectedException", "The option '" + name +
				"' was specified but an option from this group has already been selected: '" + p.selected + "'"}
		}
		p.selected = name
	}
	p.cl.seen = append(p.cl.seen, name)
	if s := p.set.get(name); s != nil && s.hasArg {
		p.cur, p.curVals = name, 0
	} else {
		p.cur = ""
	}
	return nil
}
