package metrics

import (
	"strings"
	"unicode"
)

// pySpace reports whether Python's str.split() splits at r. Python counts the
// ASCII information separators U+001C..U+001F as whitespace; Go's
// unicode.IsSpace does not, and otherwise the two sets agree.
func pySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyFields splits s like Python's s.split().
func pyFields(s string) []string { return strings.FieldsFunc(s, pySpace) }

// pyRstrip trims trailing whitespace like Python's s.rstrip().
func pyRstrip(s string) string { return strings.TrimRightFunc(s, pySpace) }

// punct13a marks the ASCII symbols mteval-v13a (and sacrebleu's 13a
// tokenizer) always splits off: { | } ~ [ \ ] ^ _ ` space ! " # $ % &
// ( ) * + : ; < = > ? @ /.  The apostrophe, hyphen, period and comma are
// handled by the context rules below.
var punct13a = func() (t [256]bool) {
	for _, rg := range [][2]byte{{'{', '~'}, {'[', '`'}, {' ', '&'}, {'(', '+'}, {':', '@'}, {'/', '/'}} {
		for c := int(rg[0]); c <= int(rg[1]); c++ {
			t[c] = true
		}
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Tokenize13a is sacrebleu's default "13a" tokenizer (the mteval-v13a.pl
// rules): it unescapes a few SGML entities, splits off punctuation, splits
// periods and commas except inside numbers, splits a dash after a digit, and
// collapses whitespace. It returns the tokens joined by single spaces.
func Tokenize13a(line string) string { return strings.Join(tokens13a(line), " ") }

// tokens13a returns the 13a tokens of line.
//
// The context rules are regular-expression substitutions in sacrebleu; each
// matches exactly two characters, the second of them ASCII, and Python's
// re.sub resumes scanning after a match. Scanning bytes and resuming after the
// two matched bytes therefore gives the same result as scanning code points.
func tokens13a(line string) []string {
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	s := []byte(" " + line + " ")

	// Rule 1: pad each symbol with spaces.
	out := make([]byte, 0, 2*len(s))
	for _, c := range s {
		if punct13a[c] {
			out = append(out, ' ', c, ' ')
		} else {
			out = append(out, c)
		}
	}
	// Rule 2: "X." and "X," with X not a digit become "X . " / "X , ".
	s, out = out, make([]byte, 0, 2*len(out))
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && !isDigit(s[i]) && (s[i+1] == '.' || s[i+1] == ',') {
			out = append(out, s[i], ' ', s[i+1], ' ')
			i++
			continue
		}
		out = append(out, s[i])
	}
	// Rule 3: ".Y" and ",Y" with Y not a digit become " . Y" / " , Y".
	s, out = out, make([]byte, 0, 2*len(out))
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && (s[i] == '.' || s[i] == ',') && !isDigit(s[i+1]) {
			out = append(out, ' ', s[i], ' ', s[i+1])
			i++
			continue
		}
		out = append(out, s[i])
	}
	// Rule 4: a dash after a digit is split off.
	s, out = out, make([]byte, 0, 2*len(out))
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && isDigit(s[i]) && s[i+1] == '-' {
			out = append(out, s[i], ' ', '-', ' ')
			i++
			continue
		}
		out = append(out, s[i])
	}
	return pyFields(string(out))
}
