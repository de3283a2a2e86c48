package ceremony

// Retire: last ceremony's keys removed from the account, only after both new
// keys verified.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/report"
)

// retire deletes the account's other FIDO2 methods, only after both new
// keys verified and with both officers' confirmation.
func (e *Engine) retire(ctx context.Context, keys []report.Key) ([]report.Retired, error) {
	if !e.cfg.Retire {
		return nil, nil
	}
	if en, ok := e.journal.doneEntry("retire"); ok {
		return en.Retired, nil
	}
	keep := map[string]bool{}
	for _, k := range keys {
		if k.GraphMethodID == "" || k.AssertionCount == 0 {
			return nil, errors.New("not retiring anything: the new keys are not both registered and tested")
		}
		keep[k.GraphMethodID] = true
	}
	list, err := e.graph.ListFIDO2(ctx, e.user.ID)
	if err != nil {
		return nil, err
	}
	var old []enroll.Method
	var names []string
	for _, m := range list {
		if !keep[m.ID] {
			old = append(old, m)
			names = append(names, fmt.Sprintf("%q (%s)", m.DisplayName, m.ID))
		}
	}
	var retired []report.Retired
	if len(old) > 0 {
		by, err := e.confirmBoth(
			ctx,
			plural(len(names), "retire the old key ", "retire the old keys ")+strings.Join(names, ", "),
		)
		if err != nil {
			return nil, err
		}
		for _, m := range old {
			s := "retire/" + m.ID
			if _, done := e.journal.done(s); !done {
				if err := e.journal.Append(s, "begin", map[string]string{
					"display_name": m.DisplayName, "confirmed_by": strings.Join(by, ", ")}); err != nil {
					return nil, err
				}
				if err := e.graph.DeleteFIDO2(ctx, e.user.ID, m.ID); err != nil && !errors.Is(err, enroll.ErrNotFound) {
					return nil, e.failed(s, err)
				}
				if err := e.journal.Append(s, "done", nil); err != nil {
					return nil, err
				}
			}
			e.prompt.Progress("retire", fmt.Sprintf("deleted %q", m.DisplayName))
			retired = append(
				retired,
				report.Retired{
					GraphMethodID: m.ID,
					DisplayName:   m.DisplayName,
					AAGUID:        m.AAGUID,
					Created:       m.Created.UTC().Format(time.RFC3339),
				},
			)
		}
	}
	return retired, e.journal.appendRetired("retire", "done", retired)
}
