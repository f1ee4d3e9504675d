package config

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	ktoml "github.com/knadh/koanf/parsers/toml/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/v2"
)

// extensions lists the config file extensions Load accepts, in the order
// the default search tries them within one directory.
var extensions = []string{".yaml", ".yml", ".toml", ".json"}

// format is a config file format: its name (for errors) and koanf parser.
type format struct {
	name   string
	parser koanf.Parser
}

// formatFor picks the format from the file extension (case-insensitive).
func formatFor(path string) (format, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		return format{"YAML", kyaml.Parser()}, nil
	case ".toml":
		return format{"TOML", ktoml.Parser()}, nil
	case ".json":
		return format{"JSON", jsonParser{}}, nil
	case "":
		return format{}, fmt.Errorf("cannot tell the format: the file name has no extension (accepted: %s)", strings.Join(extensions, ", "))
	default:
		return format{}, fmt.Errorf("unsupported extension %q (accepted: %s)", ext, strings.Join(extensions, ", "))
	}
}

// ParseError reports a config file that is not valid YAML, TOML or JSON.
// It is wrapped in a [FileError] that names the file. Line and Column are
// 1-based, 0 where the parser does not say.
type ParseError struct {
	Format string // "YAML", "TOML" or "JSON"
	Line   int
	Column int
	Msg    string // the parser's message, without position
	Err    error  // the parser's error
}

func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("invalid %s at line %d, column %d: %s", e.Format, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("invalid %s at line %d: %s", e.Format, e.Line, e.Msg)
	}
	return fmt.Sprintf("invalid %s: %s", e.Format, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

// positioned is go-toml's DecodeError (and anything else that knows where).
// Its String method is not used: it quotes the offending source line, which
// may hold a secret.
type positioned interface {
	error
	Position() (row, column int)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parse runs the format's parser and turns its error into a *ParseError.
func (f format) parse(b []byte) (map[string]any, error) {
	m, err := f.parser.Unmarshal(b)
	if err == nil {
		if m == nil { // an empty YAML file
			m = map[string]any{}
		}
		return normalize(m).(map[string]any), nil
	}
	pe := &ParseError{Format: f.name, Msg: err.Error(), Err: err}
	var pos positioned
	var je *jsonError
	switch {
	case errors.As(err, &je):
		pe.Msg = je.msg
		pe.Line, pe.Column = je.line, je.col
	case errors.As(err, &pos):
		pe.Line, pe.Column = pos.Position()
		pe.Msg = strings.TrimPrefix(err.Error(), "toml: ")
	case f.name == "YAML":
		msg := err.Error()
		if sm := yamlLine.FindStringSubmatch(msg); sm != nil {
			pe.Line, _ = strconv.Atoi(sm[1])
			msg = msg[len(sm[0]):]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		pe.Msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n ", "")
	default:
		pe.Msg = strings.TrimPrefix(strings.TrimPrefix(pe.Msg, "toml: "), "yaml: ")
	}
	return nil, pe
}

// normalize turns typed scalars the parsers produce for unquoted dates and
// times (YAML timestamps, TOML dates and date-times) back into strings, so
// `from: 2024-01-01` means the same as `from: "2024-01-01"`.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case time.Time:
		if x.Location() == time.UTC && x.Equal(x.Truncate(24*time.Hour)) {
			return x.Format(time.DateOnly) // a bare date: midnight UTC
		}
		return x.Format(time.RFC3339Nano)
	case encoding.TextMarshaler: // toml.LocalDate, LocalDateTime, LocalTime
		if b, err := x.MarshalText(); err == nil {
			return string(b)
		}
	}
	return v
}

// jsonParser is a koanf parser for JSON that keeps numbers exact and
// reports syntax errors with a line and column.
type jsonParser struct{}

// jsonError is a JSON syntax error with its position.
type jsonError struct {
	msg       string
	line, col int
	err       error
}

func (e *jsonError) Error() string { return e.msg }
func (e *jsonError) Unwrap() error { return e.err }

func (jsonParser) Unmarshal(b []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(b, se.Offset-1)
			return nil, &jsonError{msg: se.Error(), line: line, col: col, err: err}
		case errors.As(err, &te):
			line, col := position(b, te.Offset-1)
			return nil, &jsonError{msg: fmt.Sprintf("the top level must be an object, not %s", te.Value), line: line, col: col, err: err}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			line, col := position(b, int64(len(b)))
			return nil, &jsonError{msg: "unexpected end of file", line: line, col: col, err: err}
		}
		return nil, err
	}
	if dec.More() {
		off := dec.InputOffset()
		for off < int64(len(b)) && strings.IndexByte(" \t\r\n", b[off]) >= 0 {
			off++
		}
		line, col := position(b, off)
		return nil, &jsonError{msg: "more than one top-level value", line: line, col: col}
	}
	return m, nil
}

func (jsonParser) Marshal(m map[string]any) ([]byte, error) { return json.MarshalIndent(m, "", "  ") }

// position converts the 0-based offset of a byte into a 1-based line and
// column. (The JSON decoder's offsets point just past the offending byte.)
func position(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
