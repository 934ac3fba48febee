package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// testCert makes a self-signed certificate for localhost and 127.0.0.1.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestSendOverTLS sends through a server that speaks STARTTLS, and through
// one that speaks TLS from the first byte, and checks that every message
// arrived over an encrypted connection.
func TestSendOverTLS(t *testing.T) {
	for _, mode := range []TLSMode{STARTTLS, ImplicitTLS} {
		t.Run(string(mode), func(t *testing.T) {
			b := setup(t)
			cert, roots := testCert(t)
			ts := &testServer{}
			var encrypted atomic.Int32
			ts.data = func(n int, c *smtp.Conn, r io.Reader, keep func([]byte)) error {
				data, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				if _, ok := c.TLSConnectionState(); ok {
					encrypted.Add(1)
				}
				keep(data)
				return nil
			}
			srv := smtp.NewServer(ts)
			srv.Domain = "localhost"
			srv.ErrorLog = discardLogger{}
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			var l net.Listener
			var err error
			if mode == ImplicitTLS {
				l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
			} else {
				l, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); srv.Serve(l) }()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if srv.Shutdown(ctx) != nil {
					srv.Close()
				}
				<-done
			})
			s := b.sender(t, nil, func(c *Config) {
				c.Port = l.Addr().(*net.TCPAddr).Port
				c.TLS = mode
				c.TLSConfig = &tls.Config{RootCAs: roots, ServerName: "localhost"}
			})
			sum := b.send(t, s)
			if sum.Sent != 3 || len(ts.messages()) != 3 || encrypted.Load() != 3 {
				t.Errorf("sent %d; the server received %d messages, %d over TLS; want 3, 3, 3", sum.Sent, len(ts.messages()), encrypted.Load())
			}
		})
	}
}
