package ingest

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	ur "usagereport"
)

// FuzzProfileReaders feeds any input to the CSV (Latin-1, semicolons,
// decimal comma, local time) and JSON Lines readers: they must not panic,
// and every rejection must be only a position, a kept field's name and a
// known reason, so that nothing of the input can be in it.
func FuzzProfileReaders(f *testing.F) {
	f.Add("Org.nr;Abonnement;Dato;Tid;Tjeneste;Beløp;Til nummer\n974760673;91234567;25.10.2026;02:30;Tale;1 234,50;+4722334455\n", true)
	f.Add("Org.nr;Abonnement\n\"a;b\";\"\"\"\n", true)
	f.Add(`{"o":"974760673","s":"+4791234567","t":"2026-10-03T14:22:05+02:00","v":"sms","c":1.5,"b":{"x":[1]}}`+"\n[1]\n{\"o\":{}}\n", false)
	csvP, err := ParseProfile(strings.NewReader(goodProfile))
	if err != nil {
		f.Fatal(err)
	}
	jsonP, err := ParseProfile(strings.NewReader("format='jsonl'\n[columns]\norg_number='o'\nsubscriber='s'\nstart_time='t'\nservice='v'\ncharge='c'\n"))
	if err != nil {
		f.Fatal(err)
	}
	pseudo, _ := NewPseudonymizer(testKey)
	oslo, _ := NewOslo()
	reasons := append(slices.Clone(Reasons), ProfileReasons...)
	f.Fuzz(func(t *testing.T, input string, csv bool) {
		p := jsonP
		if csv {
			p = csvP
		}
		r, err := p.Open(strings.NewReader(input), "f", pseudo, oslo)
		if err != nil {
			return
		}
		var rec ur.Record
		for range 1000 {
			err := r.Read(&rec)
			var rej *Rejection
			switch {
			case err == io.EOF:
				return
			case errors.As(err, &rej):
				if !slices.Contains(reasons, rej.Err) {
					t.Fatalf("unknown reason %v", rej.Err)
				}
				if rej.Column != "" && !slices.Contains(colNames[:], rej.Column) {
					t.Fatalf("column %q is not a kept field", rej.Column)
				}
				if rej.File != "f" || rej.Line < 1 {
					t.Fatalf("rejection at %s:%d", rej.File, rej.Line)
				}
			case err != nil:
				return
			}
		}
	})
}
