package devcert

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// TestNew checks that the certificate verifies for the loopback names it
// claims, and that both printed hashes are of it.
func TestNew(t *testing.T) {
	cert, fingerprint, spki, err := New()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, name := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	sum := sha256.Sum256(cert.Certificate[0])
	if got := strings.ReplaceAll(fingerprint, ":", ""); got != fmt.Sprintf("%X", sum) {
		t.Errorf("fingerprint %s is not the certificate's", fingerprint)
	}
	pk := sha256.Sum256(cert.Leaf.RawSubjectPublicKeyInfo)
	if spki != base64.StdEncoding.EncodeToString(pk[:]) {
		t.Errorf("SPKI hash %s is not the certificate's", spki)
	}
}
