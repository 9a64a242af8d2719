package config

import (
	"reflect"
	"testing"
)

// TestExampleDocumentsEveryKey: config/authd.example.yaml names every key
// with its default value, so it cannot drift from Default().
func TestExampleDocumentsEveryKey(t *testing.T) {
	const path = "../../config/authd.example.yaml"
	cfg, err := Load(Options{Path: path, Environ: environ()})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cfg, Default()) {
		t.Fatalf("example values differ from the defaults:\n%+v\n%+v", *cfg, Default())
	}
	raw, err := rawKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range AllKeys() {
		if !raw[k] {
			t.Errorf("config/authd.example.yaml does not document %q", k)
		}
	}
}
