// Package grpcapi is authd's gRPC door: Envoy's external authorization
// service (envoy.service.auth.v3.Authorization/Check) on its own optional
// listener (grpc.addr, AUTHD_GRPC_ADDR), and the standard gRPC health
// service for Envoy's health checks. A Check is decided by the same code as
// /forward-auth (forwardauth.Decider) and refused with the same status,
// problem body and headers (apierror.ForwardAuth).
//
// Like the HTTP door it parses, calls the service and renders: it never
// touches the store or the cache. gRPC and Envoy's generated types stay in
// this package.
package grpcapi
