package mail

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	ur "usagereport"
)

func TestSendAttachmentsArriveByteIdentical(t *testing.T) {
	b := setup(t)
	sum := b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{Added: 3, Sent: 3}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	msgs := b.srv.messages()
	if len(msgs) != 3 {
		t.Fatalf("the server received %d messages, want 3", len(msgs))
	}
	states := ledgerStates(t, b.ledger)
	byRcpt := map[string]parsed{}
	for _, m := range msgs {
		if len(m.to) != 1 {
			t.Fatalf("a message went to %d recipients, want 1 each", len(m.to))
		}
		if m.from != "rapport@operator.example" {
			t.Errorf("MAIL FROM %q", m.from)
		}
		byRcpt[m.to[0]] = parse(t, m.data)
	}
	for rcpt, want := range map[string]struct {
		org   ur.Org
		name  string
		files []string
	}{
		"økonomi@fjord.example": {orgA, "Fjord Ørret AS", []string{"974760673-2026-10.xlsx", "974760673-2026-10.parquet"}},
		"leder@fjord.example":   {orgA, "Fjord Ørret AS", []string{"974760673-2026-10.xlsx", "974760673-2026-10.parquet"}},
		"post@berg.example":     {orgB, "Byggmester Berg", []string{"923609016-2026-10.xlsx"}},
	} {
		p, ok := byRcpt[rcpt]
		if !ok {
			t.Errorf("nothing arrived for %s", rcpt)
			continue
		}
		if wantSub := "Bruksrapport oktober 2026 – " + want.name + " / Usage report October 2026 – " + want.name; p.subject != wantSub {
			t.Errorf("subject %q, want %q", p.subject, wantSub)
		}
		for _, s := range []string{"Hei,", "bruksrapporten for " + want.name, "Hello,", "usage report of " + want.name, want.org.String()} {
			if !strings.Contains(p.body, s) {
				t.Errorf("%s: the body lacks %q:\n%s", rcpt, s, p.body)
			}
		}
		if len(p.attachments) != len(want.files) {
			t.Errorf("%s: %d attachments, want %d", rcpt, len(p.attachments), len(want.files))
		}
		for _, f := range want.files {
			if !bytes.Equal(p.attachments[f], b.files[f]) {
				t.Errorf("%s: attachment %s differs from the file (%d bytes, want %d)", rcpt, f, len(p.attachments[f]), len(b.files[f]))
			}
		}
		if got := p.types[want.files[0]]; got != typeXLSX {
			t.Errorf("workbook content type %q", got)
		}
		d := states[rcpt]
		if d.State != ur.DeliverySent || d.Attempts != 1 || "<"+d.MessageID+">" != p.messageID {
			t.Errorf("%s: ledger %+v, message id %s", rcpt, d, p.messageID)
		}
		if strings.Contains(d.MessageID, "@fjord") || strings.Contains(d.MessageID, "@berg") {
			t.Errorf("the Message-ID %q names the recipient", d.MessageID)
		}
	}

	// A second run sends nothing.
	sum = b.send(t, b.sender(t, nil, nil))
	if diff := cmp.Diff(Summary{}, sum); diff != "" {
		t.Errorf("second run summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 3 {
		t.Errorf("after a second run the server has %d messages, want 3", n)
	}
}

func TestLargeAttachmentIsLinked(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	sum := b.send(t, b.sender(t, nil, func(c *Config) { c.MaxAttachment = 1000 }))
	if sum.Sent != 1 {
		t.Fatalf("summary %+v", sum)
	}
	msgs := b.srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	p := parse(t, msgs[0].data)
	if len(p.attachments) != 0 {
		t.Errorf("attachments %v, want none", len(p.attachments))
	}
	link := "https://rapport.operator.example/v1/reports/2026-10.xlsx"
	if strings.Count(p.body, link) != 2 {
		t.Errorf("the body does not link %s in both languages:\n%s", link, p.body)
	}
}

func TestLargeAttachmentWithoutDownloadServerFails(t *testing.T) {
	b := setup(t)
	b.orgs = b.orgs[1:]
	sum := b.send(t, b.sender(t, nil, func(c *Config) { c.MaxAttachment, c.DownloadURL = 1000, "" }))
	if diff := cmp.Diff(Summary{Added: 1, Failed: 1}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if n := len(b.srv.messages()); n != 0 {
		t.Errorf("%d messages, want 0", n)
	}
}
