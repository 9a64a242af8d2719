// Package forwardauth decides the requests a reverse proxy forwards for
// authentication (nginx auth_request, Traefik ForwardAuth, Envoy
// ext_authz over HTTP): a bearer access token or an api_key header is
// verified, configured rules may deny it, and an allowed request is
// answered with identity headers for the upstream.
//
// It owns no HTTP: httpapi maps a Decision onto the response.
package forwardauth
