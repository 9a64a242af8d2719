package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/authd/authd/internal/apierror"
	"github.com/authd/authd/internal/httpapi"
)

// openapi.yaml is the authoritative description of the HTTP surface
// (contract.md). The tests here check the document itself (valid OpenAPI
// 3.1, every example valid, every route documented and every documented
// operation served); oasCheck (openapi_traffic_test.go) checks every
// request and response of the end-to-end tests against it.

const oasFile = "../../openapi.yaml"

// oasSpec is openapi.yaml, loaded once for the package.
type oasSpec struct {
	doc           *openapi3.T
	public, admin routers.Router // the operations of each listener, matched on any host
	// unknown stands for what the public listener answers on a path or
	// method the document does not have: 404 or 405 (or 400 for a path
	// that is not valid UTF-8).
	unknown *routers.Route
}

var (
	oasOnce   sync.Once
	oasLoaded *oasSpec
	oasErr    error
)

func loadOAS(t testing.TB) *oasSpec {
	t.Helper()
	oasOnce.Do(func() { oasLoaded, oasErr = readOAS() })
	if oasErr != nil {
		t.Fatalf("%s: %v", oasFile, oasErr)
	}
	return oasLoaded
}

func readOAS() (*oasSpec, error) {
	// kin-openapi's own form decoder wants a flat object schema; the token
	// endpoint's is a oneOf per grant. Forms here are flat strings.
	openapi3filter.RegisterBodyDecoder("application/x-www-form-urlencoded", oasFormDecoder)
	// The revocation feed's event stream is text.
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true
	doc, err := loader.LoadFromFile(oasFile)
	if err != nil {
		return nil, err
	}
	// Two documents, one per listener, without servers: the routers then
	// match paths on whatever address httptest picked.
	pub, adm := *doc, *doc
	pub.Servers, adm.Servers = nil, nil
	pub.Paths, adm.Paths = openapi3.NewPaths(), openapi3.NewPaths()
	for p, item := range doc.Paths.Map() {
		if len(item.Servers) > 0 {
			adm.Paths.Set(p, item)
		} else {
			pub.Paths.Set(p, item)
		}
	}
	s := &oasSpec{doc: doc}
	// Examples are TestOpenAPIDocument's business; a bad one must not
	// stop every end-to-end test.
	if s.public, err = legacy.NewRouter(&pub, openapi3.DisableExamplesValidation()); err != nil {
		return nil, err
	}
	if s.admin, err = legacy.NewRouter(&adm, openapi3.DisableExamplesValidation()); err != nil {
		return nil, err
	}
	resp := doc.Components.Responses
	s.unknown = &routers.Route{Spec: &pub, Path: "(not in openapi.yaml)", Operation: &openapi3.Operation{
		Responses: openapi3.NewResponses(
			openapi3.WithStatus(http.StatusBadRequest, resp["BadRequest"]),
			openapi3.WithStatus(http.StatusNotFound, resp["NotFound"]),
			openapi3.WithStatus(http.StatusMethodNotAllowed, resp["MethodNotAllowed"])),
	}}
	return s, nil
}

// operations lists the document's operations as "METHOD /path".
func (s *oasSpec) operations() map[string]*openapi3.PathItem {
	out := map[string]*openapi3.PathItem{}
	for p, item := range s.doc.Paths.Map() {
		for m := range item.Operations() {
			out[m+" "+p] = item
		}
	}
	return out
}

// TestOpenAPIDocument validates openapi.yaml as OpenAPI 3.1 with every
// example: kin-openapi checks media-type, parameter and schema `example`s;
// the JSON Schema `examples` arrays of schemas are checked here, and no
// example may hold a member its schema does not describe.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := loadOAS(t)
	if !strings.HasPrefix(s.doc.OpenAPI, "3.1") {
		t.Fatalf("openapi is %q, want 3.1.x", s.doc.OpenAPI)
	}
	err := s.doc.Validate(context.Background(), openapi3.EnableMultiError(), openapi3.EnableExamplesValidation())
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			t.Errorf("%v", e)
		}
	} else if err != nil {
		t.Error(err)
	}

	oasEachSchema(s.doc, func(sc *openapi3.Schema) {
		for i, ex := range sc.Examples {
			if err := sc.VisitJSON(ex, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
				t.Errorf("%s: examples[%d] %s does not match its schema: %v", oasLine(sc.Origin), i, oasJSON(ex), err)
			}
		}
	})

	for key, item := range s.operations() {
		m, _, _ := strings.Cut(key, " ")
		op := item.GetOperation(m)
		var contents []openapi3.Content
		if op.RequestBody != nil {
			contents = append(contents, op.RequestBody.Value.Content)
		}
		for _, r := range op.Responses.Map() {
			contents = append(contents, r.Value.Content)
		}
		for _, c := range contents {
			for mt, media := range c {
				if media.Schema == nil {
					continue
				}
				check := func(name string, v any) {
					for _, u := range oasUndocumented(v, media.Schema) {
						t.Errorf("%s %s example %s: member %s is not in the schema", key, mt, name, u)
					}
				}
				if media.Example != nil {
					check("example", media.Example)
				}
				for name, ex := range media.Examples {
					check(name, ex.Value.Value)
				}
			}
		}
	}

	for key, item := range s.operations() {
		m, _, _ := strings.Cut(key, " ")
		if op := item.GetOperation(m); op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s has no operationId or no summary", key)
		}
	}
}

// TestOpenAPIRoutes: every route the engines register is documented, and
// every documented operation is served, on the listener it is documented
// for.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	s := loadOAS(t)
	ts := newTestServer(t, nil)
	public, admin := httpapi.Routes(ts.App.Public), httpapi.Routes(ts.App.Admin)
	if len(public) == 0 || len(admin) == 0 {
		t.Fatalf("httpapi.Routes listed %d public and %d admin routes: are App.Public and App.Admin still *gin.Engine?", len(public), len(admin))
	}
	served := map[string]bool{} // route → on the admin listener
	for _, r := range public {
		served[r.Method+" "+r.Path] = false
	}
	for _, r := range admin {
		served[r.Method+" "+r.Path] = true
	}
	documented := s.operations()
	var missing, extra []string
	for r, isAdmin := range served {
		item, ok := documented[r]
		switch {
		case !ok:
			missing = append(missing, r)
		case isAdmin && len(item.Servers) == 0:
			t.Errorf("%s is served by the admin listener: give its path item a servers entry for AUTHD_ADMIN_ADDR", r)
		case !isAdmin && len(item.Servers) > 0:
			t.Errorf("%s is served by the public listener but its path item overrides servers", r)
		}
	}
	for op := range documented {
		if _, ok := served[op]; !ok {
			extra = append(extra, op)
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
}

// TestOpenAPIGrants: the discovery document advertises exactly the
// grant_type values POST /oauth2/token documents.
func TestOpenAPIGrants(t *testing.T) {
	t.Parallel()
	s := loadOAS(t)
	var documented []string
	var visit func(*openapi3.SchemaRef)
	visit = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil {
			return
		}
		if gt := r.Value.Properties["grant_type"]; gt != nil {
			for _, v := range append(slices.Clone(gt.Value.Enum), gt.Value.Const) {
				if g, ok := v.(string); ok {
					documented = append(documented, g)
				}
			}
		}
		for _, sub := range slices.Concat(r.Value.AllOf, r.Value.AnyOf, r.Value.OneOf) {
			visit(sub)
		}
	}
	op := s.doc.Paths.Find("/oauth2/token").Post
	visit(op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded").Schema)
	slices.Sort(documented)
	documented = slices.Compact(documented)
	if len(documented) == 0 {
		t.Fatal("POST /oauth2/token's form schema documents no grant_type")
	}

	ts := newTestServer(t, nil)
	resp, body := get(t, ts.URL+"/.well-known/openid-configuration", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		Grants []string `json:"grant_types_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	slices.Sort(doc.Grants)
	if !slices.Equal(doc.Grants, documented) {
		t.Errorf("grant_types_supported is %v; POST /oauth2/token documents %v", doc.Grants, documented)
	}
}

// oasEachSchema calls f once for every schema of the document: the
// components' and those written inline in parameters, headers, bodies and
// responses, with everything below them.
func oasEachSchema(doc *openapi3.T, f func(*openapi3.Schema)) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		f(s)
		for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf, s.PrefixItems) {
			walk(sub)
		}
		for _, m := range []openapi3.Schemas{s.Properties, s.PatternProperties, s.DependentSchemas, s.Defs} {
			for _, sub := range m {
				walk(sub)
			}
		}
		for _, sub := range []*openapi3.SchemaRef{s.Not, s.Items, s.Contains, s.PropertyNames, s.If, s.Then, s.Else,
			s.AdditionalProperties.Schema, s.UnevaluatedProperties.Schema, s.UnevaluatedItems.Schema} {
			walk(sub)
		}
	}
	content := func(c openapi3.Content) {
		for _, m := range c {
			walk(m.Schema)
		}
	}
	headers := func(h openapi3.Headers) {
		for _, x := range h {
			walk(x.Value.Schema)
			content(x.Value.Content)
		}
	}
	params := func(ps openapi3.Parameters) {
		for _, p := range ps {
			walk(p.Value.Schema)
			content(p.Value.Content)
		}
	}
	c := doc.Components
	for _, s := range c.Schemas {
		walk(s)
	}
	for _, p := range c.Parameters {
		params(openapi3.Parameters{p})
	}
	headers(c.Headers)
	for _, r := range c.Responses {
		headers(r.Value.Headers)
		content(r.Value.Content)
	}
	for _, b := range c.RequestBodies {
		content(b.Value.Content)
	}
	for _, item := range doc.Paths.Map() {
		params(item.Parameters)
		for _, op := range item.Operations() {
			params(op.Parameters)
			if op.RequestBody != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				headers(r.Value.Headers)
				content(r.Value.Content)
			}
		}
	}
}

// oasUndocumented lists the members of v (as JSON pointers) that schema
// does not describe: a member of an object whose schema lists properties
// and allows no others, or whose properties, in any branch of
// allOf/anyOf/oneOf, do not name it. Schemas that allow additional
// properties, or list none, are taken as saying everything.
func oasUndocumented(v any, schema *openapi3.SchemaRef) []string {
	var out []string
	var visit func(path string, v any, schemas []*openapi3.Schema)
	visit = func(path string, v any, schemas []*openapi3.Schema) {
		// Flatten the composition: every branch may describe the value.
		var all []*openapi3.Schema
		var add func(*openapi3.Schema)
		add = func(s *openapi3.Schema) {
			if s == nil || slices.Contains(all, s) {
				return
			}
			all = append(all, s)
			for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
				add(sub.Value)
			}
		}
		for _, s := range schemas {
			add(s)
		}
		switch v := v.(type) {
		case map[string]any:
			props := map[string][]*openapi3.Schema{}
			var extra []*openapi3.Schema
			free, closed := false, false
			for _, s := range all {
				for name, p := range s.Properties {
					props[name] = append(props[name], p.Value)
					closed = true
				}
				switch ap := s.AdditionalProperties; {
				case ap.Schema != nil:
					extra = append(extra, ap.Schema.Value)
				case ap.Has != nil:
					free = free || *ap.Has
					closed = closed || !*ap.Has
				}
				free = free || len(s.PatternProperties) > 0
			}
			for k, sub := range v {
				switch ps, ok := props[k]; {
				case ok:
					visit(path+"/"+k, sub, ps)
				case len(extra) > 0:
					visit(path+"/"+k, sub, extra)
				case closed && !free:
					out = append(out, path+"/"+k)
				}
			}
		case []any:
			var items []*openapi3.Schema
			for _, s := range all {
				if s.Items != nil {
					items = append(items, s.Items.Value)
				}
			}
			for i, sub := range v {
				visit(fmt.Sprintf("%s/%d", path, i), sub, items)
			}
		}
	}
	visit("", v, []*openapi3.Schema{schema.Value})
	sort.Strings(out)
	return out
}

func oasLine(o *openapi3.Origin) string {
	if o == nil || o.Key == nil {
		return "openapi.yaml"
	}
	return fmt.Sprintf("openapi.yaml:%d", o.Key.Line)
}

func oasJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// oasFormDecoder decodes an application/x-www-form-urlencoded body into an
// object of strings (an array for a repeated parameter), for the schema to
// judge.
func oasFormDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(form))
	for k, vs := range form {
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = v
		}
		out[k] = arr
	}
	return out, nil
}

// TestOpenAPIProblemCodes: Problem.code's enum is exactly the codes the
// server can produce (apierror.Codes). That each code sent is in the enum
// is checked on every problem answer by oasCheck.
func TestOpenAPIProblemCodes(t *testing.T) {
	t.Parallel()
	s := loadOAS(t)
	problem := s.doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value.Properties["code"] == nil {
		t.Fatal("components.schemas.Problem has no code property")
	}
	var enum []string
	for _, v := range problem.Value.Properties["code"].Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	codes := apierror.Codes()
	slices.Sort(enum)
	slices.Sort(codes)
	if !slices.Equal(enum, codes) {
		t.Errorf("Problem.code's enum is\n\t%v\nbut apierror.Codes() is\n\t%v", enum, codes)
	}
}
