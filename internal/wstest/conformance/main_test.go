package conformance

import (
	"testing"

	"github.com/gwsgo/gws/internal/wstest/leak"
)

func TestMain(m *testing.M) { leak.VerifyTestMain(m) }
