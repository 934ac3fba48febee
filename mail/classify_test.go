package mail

import (
	"errors"
	"net/textproto"
	"testing"

	gomail "github.com/wneessen/go-mail"
)

// TestClassify maps go-mail's errors to outcomes. The end of the data
// decides: a failure before it, or at it when a write failed (the final
// "." never left), is temporary; a lost reply after it is ambiguous.
func TestClassify(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		writeFailed bool
		want        outcome
	}{
		{"content write failed", &gomail.SendError{Reason: gomail.ErrWriteContent}, true, temporary},
		{"final dot not written", &gomail.SendError{Reason: gomail.ErrSMTPDataClose}, true, temporary},
		{"reply lost after the dot", &gomail.SendError{Reason: gomail.ErrSMTPDataClose}, false, ambiguous},
		{"reset after the data", &gomail.SendError{Reason: gomail.ErrSMTPReset}, false, ambiguous},
		{"RCPT cut", &gomail.SendError{Reason: gomail.ErrSMTPRcptTo}, false, temporary},
		{"no session", errors.New("dial tcp: connection refused"), false, unavailable},
		{"session refused", &textproto.Error{Code: 535, Msg: "authentication failed"}, false, unavailable},
		{"bad recipient address", &gomail.SendError{Reason: gomail.ErrGetRcpts}, false, permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := classify(gomail.NewMsg(), tt.err, tt.writeFailed); got != tt.want {
				t.Errorf("classify = %d, want %d", got, tt.want)
			}
		})
	}
}
