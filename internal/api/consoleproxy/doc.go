// Package consoleproxy serves the console (internal/api/webui) on this computer for
// an API elsewhere, as `kubectl proxy` does for a cluster: the page at
// /ui/, and every /v1/ call forwarded to the API with the user's
// credentials added here (a bearer token, or a SigV4 signature made with
// the user's AWS credentials). A browser cannot sign SigV4, so this is how
// the Scale Out Manager page reaches a stack deployed with IAM
// authorization (`scaleout console --aws-sigv4`).
//
// The page does not ask for a token behind the proxy: it finds that the
// API answers without one (see webui's api.probe).
//
// The proxy holds the user's access: it listens on loopback only (the
// caller's choice of address, checked), answers only requests whose Host
// is the address it listens on (no DNS rebinding from a web page), and
// refuses state-changing requests from another origin (no cross-site
// POST). The browser's own Authorization and Cookie headers never reach
// the API.
package consoleproxy
