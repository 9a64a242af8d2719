package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// DefaultPath is read when no --config is given and the file exists.
const DefaultPath = "config/authd.yaml"

// EnvPrefix starts every environment override.
const EnvPrefix = "AUTHD_"

// Options tunes Load.
type Options struct {
	// Path of the YAML file. Empty: DefaultPath if it exists, else none.
	Path string
	// Environ lists the environment as KEY=VALUE; nil means os.Environ.
	Environ func() []string
}

// Load builds the configuration: defaults, then the YAML file, then AUTHD_*
// environment variables. It rejects unknown keys (typos) in the file and
// ignores AUTHD_* variables it does not know. It does not validate: call Validate.
func Load(opts Options) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}
	known := map[string]bool{}
	for _, key := range k.Keys() {
		known[key] = true
	}

	var templates map[string]string // otp.templates, read apart (see below)
	path := opts.Path
	if path == "" {
		if _, err := os.Stat(DefaultPath); err == nil {
			path = DefaultPath
		}
	}
	if path != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("config: file %s does not exist", path)
			}
			return nil, fmt.Errorf("config: file %s: %w", path, err)
		}
		// otp.templates is a map keyed "<channel>.<purpose>": the key's
		// own dot nests it (sms: {signin: …}) whichever way it is
		// written, so it is read apart, flattened back, and kept out of
		// the unknown-key check.
		if fk.Exists("otp.templates") {
			sub := fk.Cut("otp.templates")
			templates = map[string]string{}
			for _, key := range sub.Keys() {
				templates[key] = sub.String(key)
			}
			fk.Delete("otp.templates")
		}
		for _, key := range fk.Keys() {
			if !known[key] {
				return nil, fmt.Errorf("config: file %s: unknown key %q", path, key)
			}
		}
		if err := k.Merge(fk); err != nil {
			return nil, fmt.Errorf("config: file %s: %w", path, err)
		}
	}

	envNames := map[string]string{}
	for key := range known {
		envNames[EnvName(key)] = key
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: environ,
		TransformFunc: func(name, value string) (string, any) {
			key, ok := envNames[name]
			if !ok {
				// Unknown AUTHD_* names are ignored, not refused:
				// Kubernetes injects AUTHD_PORT, AUTHD_SERVICE_HOST...
				// for a Service named authd.
				return "", nil
			}
			if isList(k, key) {
				return key, splitList(value)
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}

	cfg := Default()
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if templates != nil {
		cfg.OTP.Templates = templates
	}
	return &cfg, nil
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// AllKeys lists every configuration key, sorted.
func AllKeys() []string {
	k := koanf.New(".")
	_ = k.Load(structs.Provider(Default(), "koanf"), nil)
	keys := k.Keys()
	sort.Strings(keys)
	return keys
}

func isList(k *koanf.Koanf, key string) bool {
	_, ok := k.Get(key).([]string)
	if ok {
		return true
	}
	_, ok = k.Get(key).([]any)
	return ok
}

func splitList(v string) []string {
	out := []string{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rawKeys lists the keys a YAML file sets.
func rawKeys(path string) (map[string]bool, error) {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, k := range fk.Keys() {
		out[k] = true
	}
	// empty lists and maps are leaves too
	for k, v := range fk.All() {
		_ = v
		out[k] = true
	}
	return out, nil
}
