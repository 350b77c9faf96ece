package main

import (
	"testing"

	"github.com/scaleout/scaleout/internal/testkit/testenv"
)

// The API commands' tests run a stack on the stand-ins (see api_test.go);
// the package commands' tests need none and run as before.
func TestMain(m *testing.M) { testenv.Main(m) }
