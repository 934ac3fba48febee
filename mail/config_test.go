package mail

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Host: "smtp.example.no", From: "Rapport <rapport@example.no>", Username: "u", Password: "pw"}.WithDefaults()
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"good", func(c *Config) {}, ""},
		{"no host", func(c *Config) { c.Host = "" }, "the SMTP host is missing"},
		{"port", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"tls mode", func(c *Config) { c.TLS = "ssl" }, `TLS mode "ssl"`},
		{"auth in the clear", func(c *Config) { c.TLS = NoTLS }, "in the clear"},
		{"user without password", func(c *Config) { c.Password = "" }, "no password"},
		{"password without user", func(c *Config) { c.Username = "" }, "without a user name"},
		{"bad sender", func(c *Config) { c.From = "not an address" }, "not an email address"},
		{"download URL", func(c *Config) { c.DownloadURL = "ftp://x" }, "download server URL"},
		{"attempts", func(c *Config) { c.Attempts = -1 }, "attempts"},
		{"backoff", func(c *Config) { c.MaxBackoff = c.Backoff / 2 }, "backoff"},
		{"concurrency", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestConfigDefaultsAndRedaction(t *testing.T) {
	for mode, port := range map[TLSMode]int{STARTTLS: 587, ImplicitTLS: 465, NoTLS: 25} {
		if got := (Config{TLS: mode}).WithDefaults().Port; got != port {
			t.Errorf("default port for %s = %d, want %d", mode, got, port)
		}
	}
	s := Config{Host: "h", Username: "u", Password: "hunter2"}.String()
	if strings.Contains(s, "hunter2") || !strings.Contains(s, "REDACTED") {
		t.Errorf("String() = %s", s)
	}
}
