package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
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
	if err := checkObject(body); err != nil {
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
// members at any depth: two "email" members would let a proxy and
// Gatehouse read different addresses.
func checkObject(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must be a JSON object.")
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body must hold one JSON object.")
	}
	return nil
}

const maxDepth = 32

func walkObject(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is nested too deeply.")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
		}
		key, _ := tok.(string)
		if seen[key] {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member %q appears more than once.", key)
		}
		seen[key] = true
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The request body is not valid JSON.")
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
		return walkObject(dec, depth+1)
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

// decodeError explains what was wrong with the body in words a developer
// can act on.
func decodeError(err error) error {
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
