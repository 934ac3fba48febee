package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	ur "usagereport"
	"usagereport/export"
)

// firstFaults fails the first messages an smtpServer is given: the first
// is cut before the reply, the next two get 451.
func firstFaults(n int) error {
	switch n {
	case 1:
		return errCut
	case 2, 3:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

// attachments decodes the attached files of a message by name.
func attachments(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() == "" {
			continue
		}
		if !strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			t.Fatalf("attachment %s encoded as %q", p.FileName(), p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		out[p.FileName()] = b
	}
}

// TestSendThroughFaultsThreeTimes is issue 17's acceptance test, on both
// stores: a real SMTP server that loses the reply to the first message and
// answers 451 to the next two is sent to three times in a row, with one
// attempt per delivery and run. The first run leaves deliveries outstanding,
// says which, and exits 1; the second resends the one whose outcome was
// unknown (the same bytes) and retries the others; the third has nothing
// left. Every recipient gets exactly one message, its attachments
// byte-identical to the published files.
func TestSendThroughFaultsThreeTimes(t *testing.T) {
	samples, err := filepath.Glob("../../fixtures/sample/*")
	if err != nil || len(samples) < 3 {
		t.Fatalf("samples: %v %v", samples, err)
	}
	for name, store := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			reports := filepath.Join(t.TempDir(), "reports")
			mustRun(t, append([]string{"ingest", "--store", store}, samples...)...)
			want := map[string]ur.Org{
				"okonomi@nordlys.example": 882700240, "leder@nordlys.example": 882700240, "styret@nordlys.example": 882700240,
				"post@havbris.example": 903174161, "regnskap@havbris.example": 903174161,
			}
			mustRun(t, "org", "add", "--store", store, "--org", "882700240", "--name", "Nordlys Kraft AS",
				"--recipient", "okonomi@nordlys.example", "--recipient", "leder@nordlys.example", "--recipient", "styret@nordlys.example")
			mustRun(t, "org", "add", "--store", store, "--org", "903174161", "--name", "Havbris",
				"--recipient", "post@havbris.example", "--recipient", "regnskap@havbris.example")
			mustRun(t, "org", "add", "--store", store, "--org", "974760673", "--name", "Uten mottakere")
			srv, port := startSMTP(t, firstFaults)
			send := []string{"send", "--store", store, "--reports", reports, "--month", "2026-10",
				"--smtp-host", "127.0.0.1", "--smtp-port", port, "--smtp-tls", "none",
				"--from", "Bruksrapport <rapport@operator.example>", "--attempts", "1", "--backoff", "1m"}

			r := runAt(t, testNow, send...)
			if r.code != ExitFailure {
				t.Errorf("run 1: exit %d, want %d\n%s\n%s", r.code, ExitFailure, r.stdout, r.stderr)
			}
			for _, w := range []string{
				"2026-10: no recipients: 1 organisations: 974760673",
				"2026-10 this run: 2 sent, 0 resent after an unknown outcome, 0 failed, 1 unknown, 2 left pending (5 new deliveries)",
				"2026-10 whole month: 5 deliveries: 2 sent (0 after a resend), 2 pending, 0 overdue, 0 failed, 1 unknown, 0 sending",
				": next attempt 2026-12-02T06:02:00Z, last reply 451\n",
				"  unknown  ", ": Message-ID usagereport.",
			} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("run 1 lacks %q:\n%s", w, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, "3 of the 5 deliveries of 2026-10 are not sent") {
				t.Errorf("run 1 stderr:\n%s", r.stderr)
			}
			// deliveries shows the same, with the recipients.
			r = runAt(t, testNow, "deliveries", "--store", store, "--month", "2026-10")
			for _, w := range []string{
				"NEXT ATTEMPT", "2026-12-02T06:02:00Z", "  451  ",
				"2026-10 whole month: 5 deliveries: 2 sent (0 after a resend), 2 pending, 0 overdue, 0 failed, 1 unknown, 0 sending",
			} {
				if r.code != ExitOK || !strings.Contains(r.stdout, w) {
					t.Errorf("deliveries after run 1 lacks %q (exit %d):\n%s", w, r.code, r.stdout)
				}
			}

			r = runAt(t, testNow.Add(3*time.Minute), send...)
			if r.code != ExitOK {
				t.Errorf("run 2: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range []string{
				"2026-10 this run: 3 sent, 1 resent after an unknown outcome, 0 failed, 0 unknown, 0 left pending (0 new deliveries)",
				"2026-10 whole month: 5 deliveries: 5 sent (1 after a resend), 0 pending, 0 overdue, 0 failed, 0 unknown, 0 sending",
			} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("run 2 lacks %q:\n%s", w, r.stdout)
				}
			}
			r = runAt(t, testNow.Add(4*time.Minute), send...)
			if r.code != ExitOK || !strings.Contains(r.stdout, "2026-10 this run: 0 sent") {
				t.Errorf("run 3: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, out := range []string{r.stdout, r.stderr} {
				for rcpt := range want {
					if strings.Contains(out, rcpt) {
						t.Errorf("send printed a recipient's address:\n%s", out)
					}
				}
			}

			got := map[string]int{}
			for _, m := range srv.messages() {
				if len(m.to) != 1 {
					t.Fatalf("a message to %d recipients", len(m.to))
				}
				rcpt := m.to[0]
				got[rcpt]++
				org := want[rcpt]
				path := export.Path(reports, org, ur.MonthOf(2026, 10), "xlsx")
				published, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				att := attachments(t, m.data)
				if len(att) != 1 || !bytes.Equal(att[filepath.Base(path)], published) {
					t.Errorf("%s: the attachment differs from the published %s", rcpt, filepath.Base(path))
				}
			}
			for rcpt := range want {
				if got[rcpt] != 1 {
					t.Errorf("%s received %d messages, want 1", rcpt, got[rcpt])
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d recipients received messages, want %d", len(got), len(want))
			}
			r = mustRun(t, "deliveries", "--store", store, "--month", "2026-10")
			if !strings.Contains(r.stdout, "2026-10 whole month: 5 deliveries: 5 sent (1 after a resend)") {
				t.Errorf("deliveries:\n%s", r.stdout)
			}
		})
	}
}
