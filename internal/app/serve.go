package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve runs the public and admin listeners, and the gRPC one when
// grpc.addr is set, until ctx is cancelled (SIGTERM in the binary), then
// stops accepting connections and lets in-flight requests and calls finish
// within http.shutdown_timeout. ready, if not nil, is called with the
// bound addresses once every listener accepts connections (GRPCAddr then
// has the gRPC one).
func (a *App) Serve(ctx context.Context, ready func(public, admin net.Addr)) error {
	cfg := a.Config
	pubLn, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	admLn, err := net.Listen("tcp", cfg.Admin.Addr)
	if err != nil {
		_ = pubLn.Close()
		return fmt.Errorf("admin.addr %s: %w", cfg.Admin.Addr, err)
	}
	pub := &http.Server{
		Handler:           a.Public,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	pub.RegisterOnShutdown(a.OAuth.CloseStreams) // event streams are never idle
	adm := &http.Server{Handler: a.Admin, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var grpcLn net.Listener
	if a.GRPC != nil {
		if grpcLn, err = net.Listen("tcp", cfg.GRPC.Addr); err != nil {
			_ = pubLn.Close()
			_ = admLn.Close()
			return fmt.Errorf("grpc.addr %s: %w", cfg.GRPC.Addr, err)
		}
		a.grpcAddr.Store(grpcLn.Addr())
	}

	errc := make(chan error, 3)
	go func() { errc <- pub.Serve(pubLn) }()
	go func() { errc <- adm.Serve(admLn) }()
	grpcAttr := slog.String("grpc", "off")
	if grpcLn != nil {
		go func() { errc <- a.GRPC.Serve(grpcLn) }()
		grpcAttr = slog.String("grpc", grpcLn.Addr().String())
	}
	a.Logger.Info("authd listening", "http", pubLn.Addr().String(), "admin", admLn.Addr().String(), grpcAttr,
		"issuer", cfg.Issuer, "database", redact(cfg.Database.DSN), "redis", cfg.Redis.URL != "")
	if ready != nil {
		ready(pubLn.Addr(), admLn.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.draining.Store(true)
	if a.GRPC != nil {
		a.GRPC.Drain() // gRPC health answers NOT_SERVING, as /readyz answers 503
	}
	if cfg.HTTP.ShutdownDrain > 0 && serveErr == nil {
		a.Logger.Info("authd draining: /readyz answers 503", "for", cfg.HTTP.ShutdownDrain.String())
		time.Sleep(cfg.HTTP.ShutdownDrain)
	}
	a.Logger.Info("authd shutting down", "timeout", cfg.HTTP.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	var err3 error
	grpcDone := make(chan struct{})
	go func() {
		defer close(grpcDone)
		if grpcLn != nil {
			err3 = a.GRPC.Shutdown(sctx)
		}
	}()
	err1 := pub.Shutdown(sctx)
	err2 := adm.Shutdown(sctx)
	<-grpcDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return errors.Join(err1, err2, err3)
}

// GRPCAddr is the gRPC listener's bound address while Serve runs with
// grpc.addr set; nil otherwise.
func (a *App) GRPCAddr() net.Addr {
	addr, _ := a.grpcAddr.Load().(net.Addr)
	return addr
}
