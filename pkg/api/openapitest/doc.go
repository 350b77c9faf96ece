// Package openapitest checks HTTP exchanges with the Scaleout API against
// the API's OpenAPI 3.1 document, with a third-party validator
// (pb33f/libopenapi-validator), so that the document and the code cannot
// drift apart.
//
// Tests that call the API use [Client] (or [Transport]) in place of
// http.DefaultClient: every answer is checked (its status code is one the
// operation declares, its Content-Type is declared, its body matches the
// schema, with formats asserted), and a request the API accepted (2xx) is
// checked too, so that the API cannot accept what the document does not
// say. A violation fails the test that made the request.
//
// Only test code imports this package.
package openapitest
