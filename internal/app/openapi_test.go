package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/httpapi"
)

// openapi.yaml is the authoritative description of the HTTP surface
// (contract.md). These tests keep it honest: every route the engines
// register is documented and every documented operation exists, its
// references resolve, and the documents the server generates (discovery,
// problems) have no member the spec does not describe.

// oasMethods maps the operation keys of an OpenAPI path item to HTTP
// methods.
var oasMethods = map[string]string{
	"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost,
	"delete": http.MethodDelete, "options": http.MethodOptions, "head": http.MethodHead,
	"patch": http.MethodPatch, "trace": http.MethodTrace,
}

// oasDoc is openapi.yaml parsed into yaml.Nodes (which keep line numbers for
// the failure messages).
type oasDoc struct {
	file string
	root *yaml.Node // the document's top-level mapping
}

// oasOp is one operation of the spec.
type oasOp struct {
	Method, Path string
	PathItem     *yaml.Node
	Op           *yaml.Node
}

func (o oasOp) key() string { return o.Method + " " + o.Path }

func oasRepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's working directory")
		}
		dir = parent
	}
}

func loadOASDoc(t testing.TB) *oasDoc {
	t.Helper()
	file := filepath.Join(oasRepoRoot(t), "openapi.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the OpenAPI document: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("%s: the document is not a YAML mapping", file)
	}
	return &oasDoc{file: file, root: doc.Content[0]}
}

// resolved follows YAML aliases.
func oasResolved(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// get returns the value of key in mapping n, or nil.
func oasGet(n *yaml.Node, key string) *yaml.Node {
	n = oasResolved(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return oasResolved(n.Content[i+1])
		}
	}
	return nil
}

// keys lists the keys of mapping n, in document order.
func oasKeys(n *yaml.Node) []string {
	n = oasResolved(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// scalars lists the scalar values of sequence n.
func oasScalars(n *yaml.Node) []string {
	n = oasResolved(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if c = oasResolved(c); c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// pointer resolves a local reference ("#/components/schemas/X").
func (s *oasDoc) pointer(ref string) (*yaml.Node, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, errors.New("not a local reference (must start with #/)")
	}
	if frag == "" {
		return s.root, nil
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, errors.New("not a JSON pointer")
	}
	n := s.root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch n.Kind {
		case yaml.MappingNode:
			n = oasGet(n, tok)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				n = nil
			} else {
				n = oasResolved(n.Content[i])
			}
		default:
			n = nil
		}
		if n == nil {
			return nil, fmt.Errorf("%q does not exist", tok)
		}
	}
	return n, nil
}

// deref follows $ref until a node without one; nil when a reference does
// not resolve (TestOpenAPISpec reports those).
func (s *oasDoc) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 32; i++ {
		ref := oasGet(n, "$ref")
		if ref == nil {
			return n
		}
		var err error
		if n, err = s.pointer(ref.Value); err != nil {
			return nil
		}
	}
	return nil
}

// at walks keys from n, dereferencing at every step.
func (s *oasDoc) at(n *yaml.Node, path ...string) *yaml.Node {
	n = s.deref(n)
	for _, k := range path {
		if n = s.deref(oasGet(n, k)); n == nil {
			return nil
		}
	}
	return n
}

// operations lists every operation of paths.
func (s *oasDoc) operations(t testing.TB) []oasOp {
	t.Helper()
	paths := oasGet(s.root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		t.Fatalf("%s: no paths", s.file)
	}
	var ops []oasOp
	for _, p := range oasKeys(paths) {
		item := s.deref(oasGet(paths, p))
		for _, k := range oasKeys(item) {
			if m, ok := oasMethods[k]; ok {
				ops = append(ops, oasOp{Method: m, Path: p, PathItem: item, Op: oasGet(item, k)})
			}
		}
	}
	return ops
}

// line is a position for failure messages.
func (s *oasDoc) line(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d", filepath.Base(s.file), n.Line)
}

func TestOpenAPISpec(t *testing.T) {
	s := loadOASDoc(t)
	ops := s.operations(t)

	t.Run("version", func(t *testing.T) {
		v := oasGet(s.root, "openapi")
		if v == nil {
			t.Fatal("the document has no openapi field")
		}
		if !strings.HasPrefix(v.Value, "3.1") {
			t.Fatalf("%s: openapi is %q, want 3.1.x", s.line(v), v.Value)
		}
	})

	t.Run("routes", func(t *testing.T) {
		ts := newTestServer(t, nil)
		public := httpapi.Routes(ts.App.Public)
		admin := httpapi.Routes(ts.App.Admin)
		if len(public) == 0 || len(admin) == 0 {
			t.Fatalf("httpapi.Routes listed %d public and %d admin routes: are App.Public and App.Admin still *gin.Engine?", len(public), len(admin))
		}
		isAdmin := map[string]bool{}
		routes := map[string]bool{}
		for _, r := range public {
			routes[r.Method+" "+r.Path] = true
		}
		for _, r := range admin {
			routes[r.Method+" "+r.Path] = true
			isAdmin[r.Method+" "+r.Path] = true
		}
		documented := map[string]oasOp{}
		for _, o := range ops {
			documented[o.key()] = o
		}

		var missing, extra []string
		for r := range routes {
			if _, ok := documented[r]; !ok {
				missing = append(missing, r)
			}
		}
		for k, o := range documented {
			if !routes[k] {
				extra = append(extra, fmt.Sprintf("%s (%s)", k, s.line(o.Op)))
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 {
			t.Errorf("routes the server registers that openapi.yaml does not document:\n\t%s", strings.Join(missing, "\n\t"))
		}
		if len(extra) > 0 {
			t.Errorf("operations openapi.yaml documents that the server does not register:\n\t%s", strings.Join(extra, "\n\t"))
		}

		// Admin routes live on another listener: their path item (or
		// operation) must say so with its own servers; public ones must not.
		for k, o := range documented {
			if !routes[k] {
				continue
			}
			hasServers := oasGet(o.PathItem, "servers") != nil || oasGet(o.Op, "servers") != nil
			switch {
			case isAdmin[k] && !hasServers:
				t.Errorf("%s (%s) is served by the admin listener: give its path item a servers entry for AUTHD_ADMIN_ADDR", k, s.line(o.Op))
			case !isAdmin[k] && hasServers:
				t.Errorf("%s (%s) is served by the public listener but overrides servers", k, s.line(o.Op))
			}
		}
	})

	t.Run("operations", func(t *testing.T) {
		seen := map[string]string{}
		for _, o := range ops {
			id := oasGet(o.Op, "operationId")
			switch {
			case id == nil || strings.TrimSpace(id.Value) == "":
				t.Errorf("%s (%s) has no operationId", o.key(), s.line(o.Op))
			case seen[id.Value] != "":
				t.Errorf("operationId %q of %s (%s) is also used by %s", id.Value, o.key(), s.line(id), seen[id.Value])
			default:
				seen[id.Value] = o.key()
			}
			if sum := oasGet(o.Op, "summary"); sum == nil || strings.TrimSpace(sum.Value) == "" {
				t.Errorf("%s (%s) has no summary", o.key(), s.line(o.Op))
			}
			if len(oasKeys(oasGet(o.Op, "responses"))) == 0 {
				t.Errorf("%s (%s) has no responses", o.key(), s.line(o.Op))
			}
		}
	})

	t.Run("refs", func(t *testing.T) {
		var walk func(n *yaml.Node)
		n := 0
		walk = func(node *yaml.Node) {
			switch node.Kind {
			case yaml.DocumentNode, yaml.SequenceNode:
				for _, c := range node.Content {
					walk(c)
				}
			case yaml.MappingNode:
				for i := 0; i+1 < len(node.Content); i += 2 {
					k, v := node.Content[i], node.Content[i+1]
					if k.Value != "$ref" {
						walk(v)
						continue
					}
					n++
					if v.Kind != yaml.ScalarNode || !strings.HasPrefix(v.Value, "#/components/") {
						t.Errorf("%s: $ref %q must point into #/components/", s.line(v), v.Value)
						continue
					}
					if _, err := s.pointer(v.Value); err != nil {
						t.Errorf("%s: $ref %q does not resolve: %v", s.line(v), v.Value, err)
					}
				}
			}
		}
		walk(s.root)
		if n == 0 {
			t.Error("no $ref found: is the walk broken?")
		}
	})
}

// TestOpenAPIProblemCodes checks that components.schemas.Problem lists
// exactly the Code* constants of internal/httpapi, and that a real problem
// response has no member the schema does not describe.
func TestOpenAPIProblemCodes(t *testing.T) {
	s := loadOASDoc(t)
	problem := s.at(s.root, "components", "schemas", "Problem")
	if problem == nil {
		t.Fatal("components.schemas.Problem is missing")
	}
	enumNode := s.at(problem, "properties", "code", "enum")
	enum := oasScalars(enumNode)
	if len(enum) == 0 {
		t.Fatal("components.schemas.Problem.properties.code has no enum")
	}
	if d := oasGet(s.at(problem, "properties", "code"), "x-enum-descriptions"); d != nil && len(oasScalars(d)) != len(enum) {
		t.Errorf("Problem.code: %d x-enum-descriptions for %d codes", len(oasScalars(d)), len(enum))
	}

	codes := apierror.Codes()
	var undocumented, stale []string
	for _, c := range codes {
		if !slices.Contains(enum, c) {
			undocumented = append(undocumented, c)
		}
	}
	for _, c := range enum {
		if !slices.Contains(codes, c) {
			stale = append(stale, c)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("problem codes defined in internal/httpapi but missing from Problem.code's enum: %s", strings.Join(undocumented, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("Problem.code's enum lists codes internal/httpapi does not define: %s", strings.Join(stale, ", "))
	}

	ts := newTestServer(t, nil)
	resp, err := http.Get(ts.URL + "/no/such/endpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusNotFound || ct != "application/problem+json" {
		t.Fatalf("unknown path: got %d %q, want 404 application/problem+json", resp.StatusCode, ct)
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	props := oasKeys(s.at(problem, "properties"))
	for k := range body {
		if !slices.Contains(props, k) {
			t.Errorf("a problem response has member %q that components.schemas.Problem does not describe", k)
		}
	}
	var code string
	_ = json.Unmarshal(body["code"], &code)
	if !slices.Contains(enum, code) {
		t.Errorf("a problem response has code %q, not in Problem.code's enum", code)
	}
}

// TestOpenAPIDiscoveryDocument fetches the real discovery documents and
// checks that every member is a property of the spec's schema for them and
// appears in the spec's documented example, that every required property
// is sent, and that the advertised grants are exactly the grant_type values
// the spec documents for the token endpoint. A new metadata field or grant
// thus forces a spec update.
func TestOpenAPIDiscoveryDocument(t *testing.T) {
	s := loadOASDoc(t)
	ts := newTestServer(t, nil)

	grantEnum := oasGrantTypes(s)
	if len(grantEnum) == 0 {
		t.Fatal("openapi.yaml: POST /oauth2/token's form schema documents no grant_type enum")
	}

	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(path, func(t *testing.T) {
			media := s.at(s.root, "paths", path, "get", "responses", "200", "content", "application/json")
			schema := s.at(media, "schema")
			props := oasKeys(s.at(schema, "properties"))
			if len(props) == 0 {
				t.Fatalf("openapi.yaml: GET %s 200 application/json has no schema with properties", path)
			}
			var example *yaml.Node
			if ex := s.deref(oasGet(media, "example")); ex != nil {
				example = ex
			} else if exs := oasGet(media, "examples"); len(oasKeys(exs)) > 0 {
				example = s.at(exs, oasKeys(exs)[0], "value")
			}
			if example == nil {
				t.Fatalf("openapi.yaml: GET %s 200 application/json has no example", path)
			}
			exampleKeys := oasKeys(example)
			for _, k := range exampleKeys {
				if !slices.Contains(props, k) {
					t.Errorf("the spec's example has %q, which is not a property of its schema", k)
				}
			}

			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var doc map[string]json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			var undocumented, notInExample []string
			for k := range doc {
				if !slices.Contains(props, k) {
					undocumented = append(undocumented, k)
				}
				if !slices.Contains(exampleKeys, k) {
					notInExample = append(notInExample, k)
				}
			}
			sort.Strings(undocumented)
			sort.Strings(notInExample)
			if len(undocumented) > 0 {
				t.Errorf("GET %s returns members the spec's schema (%s) does not describe: %s",
					path, s.line(schema), strings.Join(undocumented, ", "))
			}
			if len(notInExample) > 0 {
				t.Errorf("GET %s returns members missing from the spec's documented example (%s): %s",
					path, s.line(example), strings.Join(notInExample, ", "))
			}
			for _, k := range oasScalars(oasGet(schema, "required")) {
				if _, ok := doc[k]; !ok {
					t.Errorf("the spec requires %q but GET %s does not send it", k, path)
				}
			}

			var grants []string
			if err := json.Unmarshal(doc["grant_types_supported"], &grants); err != nil {
				t.Fatalf("grant_types_supported: %v", err)
			}
			for _, g := range grants {
				if !slices.Contains(grantEnum, g) {
					t.Errorf("grant %q is advertised but not documented in POST /oauth2/token's grant_type", g)
				}
			}
			for _, g := range grantEnum {
				if !slices.Contains(grants, g) {
					t.Errorf("grant %q is documented in POST /oauth2/token's grant_type but not registered", g)
				}
			}
		})
	}
}

// oasGrantTypes collects the grant_type enum (and const) values of POST
// /oauth2/token's form schema, through allOf/anyOf/oneOf.
func oasGrantTypes(s *oasDoc) []string {
	var out []string
	var visit func(n *yaml.Node, depth int)
	visit = func(n *yaml.Node, depth int) {
		n = s.deref(n)
		if n == nil || depth > 8 {
			return
		}
		if gt := s.at(n, "properties", "grant_type"); gt != nil {
			out = append(out, oasScalars(oasGet(gt, "enum"))...)
			if c := oasGet(gt, "const"); c != nil {
				out = append(out, c.Value)
			}
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			if l := oasGet(n, k); l != nil && l.Kind == yaml.SequenceNode {
				for _, c := range l.Content {
					visit(c, depth+1)
				}
			}
		}
	}
	visit(s.at(s.root, "paths", "/oauth2/token", "post", "requestBody", "content",
		"application/x-www-form-urlencoded", "schema"), 0)
	slices.Sort(out)
	return slices.Compact(out)
}
