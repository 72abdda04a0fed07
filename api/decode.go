package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// MaxBodyBytes bounds every JSON request body: ample for any call of the
// contract, far too small to hurt. A megabyte password never reaches the
// hasher.
const MaxBodyBytes = 64 << 10

// decode reads a JSON object into v strictly: application/json only, at
// most MaxBodyBytes, valid UTF-8, no NUL characters, no duplicate or
// unknown members, no trailing data. An empty body decodes as {}.
func decode(r *http.Request, v any) error {
	if r.ContentLength != 0 || r.Header.Get("Content-Type") != "" {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return gatehouse.Errorf(gatehouse.EUnsupportedMediaType, "Send the request body as application/json.")
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		// No body at all (a GET, as every session check is): decoding {}
		// would leave v as it is, so skip the reading and parsing, but not
		// the members {} lacks.
		return checkRequired(nil, v)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return gatehouse.Errorf(gatehouse.ERequestTooLarge, "The request body is larger than %d KiB.", MaxBodyBytes>>10)
	}
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid UTF-8.")
	}
	if bytes.IndexByte(body, 0) >= 0 || bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "Text fields cannot contain NUL characters.")
	}
	keys, err := checkObject(body)
	if err != nil {
		return err
	}
	if err := checkMembers(keys, v); err != nil {
		return err
	}
	if err := checkRequired(keys, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must hold one JSON object.")
	}
	return nil
}

// checkObject makes sure the body is one JSON object without duplicate
// members at any depth, and returns its members' names: two "email"
// members would let a proxy and Gatehouse read different addresses.
func checkObject(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must be a JSON object.")
	}
	keys, err := walkObject(dec, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must hold one JSON object.")
	}
	return keys, nil
}

const maxDepth = 32

// walkObject reads the members of an object after its opening brace and
// returns their names. Duplicates are refused whatever their case, since
// encoding/json matches names without regard to case.
func walkObject(dec *json.Decoder, depth int) ([]string, error) {
	if depth > maxDepth {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is nested too deeply.")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
		}
		key, _ := tok.(string)
		folded := strings.ToLower(key)
		if seen[folded] {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %q appears more than once.", key)
		}
		seen[folded] = true
		keys = append(keys, key)
		if err := walkValue(dec, depth); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
	}
	return keys, nil
}

// checkMembers refuses a member that is not spelled exactly as a field of
// the struct v points to: encoding/json would take "EMAIL" or "emaiſ" for
// "email", and a body must mean the same to every reader.
func checkMembers(keys []string, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	jsonNames(t, known)
	for _, k := range keys {
		if !known[k] {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %q is not known.", k)
		}
	}
	return nil
}

// checkRequired refuses a body without a member that the struct v points
// to marks `api:"required"` (the document's "required" list): a missing
// member is a malformed request, said as such before any rule judges the
// others (a login without a password is not a wrong password).
func checkRequired(keys []string, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("api") != "required" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !slices.Contains(keys, name) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %q is required.", name)
		}
	}
	return nil
}

func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
	}
	switch tok {
	case json.Delim('{'):
		_, err := walkObject(dec, depth+1)
		return err
	case json.Delim('['):
		if depth+1 > maxDepth {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is nested too deeply.")
		}
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
		}
	}
	return nil
}

// jsonNames adds the member names encoding/json reads into struct type t,
// those of embedded structs included.
func jsonNames(t reflect.Type, names map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && tag == "" && ft.Kind() == reflect.Struct {
			jsonNames(ft, names)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		names[tag] = true
	}
}

// decodeError explains what was wrong with the body in words a developer
// can act on.
func decodeError(err error) error {
	if gatehouse.AsError(err) != nil {
		return err // a member's own UnmarshalJSON said what is wrong
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must be a JSON object.")
		}
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %q must be %s.", field, kind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %s is not known.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
}

func kind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "float64":
		return "a number"
	case "ptr":
		return "of another type"
	}
	return fmt.Sprintf("a %s", k)
}
