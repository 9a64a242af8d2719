package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authd/authd/internal/config"
)

type globalFlags struct {
	configPath string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "authd",
		Short:         "authd: identity and token service for CRM platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "YAML configuration file (default "+config.DefaultPath+" if present)")
	root.AddCommand(newServeCmd(g), newMigrateCmd(g), newBootstrapCmd(g), newKeysCmd(g), newAPIKeysCmd(g), newClientsCmd(g), newOTPCmd(g), newVersionCmd())
	return root
}

// loadConfig loads and validates the configuration. In dev mode a missing
// system secret is generated once and kept in the data directory.
func loadConfig(g *globalFlags, dev bool) (*config.Config, error) {
	cfg, err := config.Load(config.Options{Path: g.configPath})
	if err != nil {
		return nil, &exitErr{code: exitConfig, err: err}
	}
	cfg.Dev = dev
	if dev && cfg.Secrets.System == "" {
		secret, err := devSecret(cfg.DataDir)
		if err != nil {
			return nil, &exitErr{code: exitConfig, err: err}
		}
		cfg.Secrets.System = secret
	}
	if err := cfg.Validate(); err != nil {
		return nil, &exitErr{code: exitConfig, err: err}
	}
	return cfg, nil
}

// devSecret reads or creates <dataDir>/system-secret (mode 0600).
func devSecret(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "system-secret")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < config.MinSystemSecretLen {
			return "", fmt.Errorf("%s holds a secret shorter than %d characters", path, config.MinSystemSecretLen)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	raw := make([]byte, 48)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

func newLogger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	} else {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h)
}
